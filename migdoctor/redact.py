"""Keep database passwords out of every line migdoctor prints, logs or journals.

A password is masked where it stands as a password, and nowhere else: a password that is an
ordinary word ("fix", "test") must not turn ``migdoctor fix upgrade`` into ``migdoctor ***
upgrade``.

- :func:`redact`, for every piece of text leaving migdoctor: the password of anything that looks
  like a URL (``scheme://user:PASSWORD@host``) and the value of a password setting
  (``password=…``, ``"password": "…"``, ``DB_PASSWORD = "…"``, ``PASSWORD '…'``).
- :func:`redact_foreign`, for text migdoctor did not write itself — an exception raised by
  env.py, the application or the driver, a traceback with its source lines: there a password can
  stand anywhere (``connect("db", "app", "s3cret")``), so the passwords learned as they were seen
  (the URL from the config, ``--url``, the connection env.py opened) are masked too, as words.
"""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus, unquote

_known_secrets: set[str] = set()

# user:password@ in anything that looks like a URL, whatever the scheme; a password holding an
# unencoded "@" runs to the last "@" before the host, so none of it is left showing
# (each part bounded and anchored where a word starts: a long word must not cost quadratic time)
_URL_PASSWORD = re.compile(
    r"(?P<prefix>(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,40}://[^:/@\s]{0,200}:)"
    r"(?P<pw>[^\s/]+)(?=@)"
)

# the value of a password setting: password=… (a DSN, keyword arguments), "password": "…" (a
# dict), DB_PASSWORD = "…" (a source line), PASSWORD '…' (SQL); not a schema object named so,
# as migdoctor names one ("column user.password_hash: type VARCHAR(128) in the database")
_SETTING_PASSWORD = re.compile(
    r"""(?P<prefix>(?i:(?<![\w.-])(?<!column )(?<!index )(?<!table )(?<!constraint )"""
    r"""[\w.-]{0,40}?(?:password|passwd|pwd)[\w-]{0,40})"""
    r"""['"]?(?:\s*[:=]\s*|\s+(?=['"])))"""
    r"""(?P<pw>'[^'\n]*'|"[^"\n]*"|[^\s,;)}\]'"&]+)"""
)
# "(using password: YES)" is MySQL saying whether one was given, not the password
_NOT_A_PASSWORD = {"YES", "NO", "None", "***", "'***'", '"***"'}

# a line of a Python traceback naming a file: paths are not where passwords stand
_TRACEBACK_FILE_LINE = re.compile(r'^\s*File "[^"\n]*", line \d+')

MASK = "***"

# migdoctor's own hint shows where a password goes; it holds none
_PLACEHOLDER_URLS = {"dialect+driver://user:PASSWORD"}


def remember_secret(secret: str | None) -> None:
    """Remember a password, to mask it in foreign text (exceptions, tracebacks)."""
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
    """Mask the passwords of URLs and of password settings in ``text``."""
    text = _URL_PASSWORD.sub(_mask_url, text)
    return _SETTING_PASSWORD.sub(_mask_setting, text)


def redact_foreign(text: str) -> str:
    """Mask passwords in text migdoctor did not write (an exception, a traceback): as
    :func:`redact`, and every remembered password standing as a word of its own, except in the
    ``File "…", line N`` lines of a traceback."""
    lines = redact(text).split("\n")
    return "\n".join(
        line if _TRACEBACK_FILE_LINE.match(line) else _mask_known(line) for line in lines
    )


def redact_traceback(error: BaseException) -> str:
    """The traceback of ``error`` (as ``--debug`` prints it), passwords masked."""
    import traceback

    return redact_foreign("".join(traceback.format_exception(error)))


def _mask_url(match: re.Match[str]) -> str:
    if match.group(0) in _PLACEHOLDER_URLS:
        return match.group(0)
    return match.group("prefix") + MASK


def _mask_setting(match: re.Match[str]) -> str:
    value = match.group("pw")
    if value in _NOT_A_PASSWORD:
        return match.group(0)
    if value[:1] in "'\"" and len(value) >= 2:
        return match.group("prefix") + value[0] + MASK + value[-1]
    return match.group("prefix") + MASK


def _mask_known(text: str) -> str:
    for secret in sorted(_known_secrets, key=len, reverse=True):
        if secret in text:
            # a password inside a longer word is not that password ("root" in "chroot")
            pattern = r"(?<![A-Za-z0-9_])" + re.escape(secret) + r"(?![A-Za-z0-9_])"
            text = re.sub(pattern, MASK, text)
    return text


def forget_all_secrets() -> None:
    """Forget every remembered secret (between runs inside one process, as in tests)."""
    _known_secrets.clear()
