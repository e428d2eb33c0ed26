"""Keep database passwords out of every line migdoctor prints, logs or journals.

Passwords are learned as they are seen (the URL from the config, ``--url``, the connection
env.py opened); every piece of text leaving migdoctor goes through :func:`redact`.
"""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus, unquote

_known_secrets: set[str] = set()

# user:password@ in anything that looks like a URL, whatever the scheme
_URL_PASSWORD = re.compile(r"(?P<prefix>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^@\s]+)(?=@)")

MASK = "***"


def remember_secret(secret: str | None) -> None:
    """Remember a password so that it is masked wherever it appears later."""
    if not secret or secret == MASK or len(secret) < 2:
        return
    _known_secrets.add(secret)
    # the same password as it appears inside a URL
    _known_secrets.add(quote(secret, safe=""))
    _known_secrets.add(quote_plus(secret, safe=""))
    _known_secrets.add(unquote(secret))


def remember_url_password(url: object) -> None:
    """Remember the password of a SQLAlchemy URL (string or ``URL``), if it has one."""
    password = getattr(url, "password", None)
    if password is None and isinstance(url, str):
        match = _URL_PASSWORD.search(url)
        password = unquote(match.group("pw")) if match else None
    if password is not None:
        remember_secret(str(password))


def redact(text: str) -> str:
    """Mask URL passwords and every remembered secret in ``text``."""
    text = _URL_PASSWORD.sub(lambda m: m.group("prefix") + MASK, text)
    for secret in sorted(_known_secrets, key=len, reverse=True):
        if secret in text:
            # a password inside a longer word is not that password; masking it would
            # mangle ordinary words when the password is one ("root", "test")
            pattern = r"(?<![A-Za-z0-9])" + re.escape(secret) + r"(?![A-Za-z0-9])"
            text = re.sub(pattern, MASK, text)
    return text


def forget_all_secrets() -> None:
    """Forget every remembered secret (between runs inside one process, as in tests)."""
    _known_secrets.clear()
