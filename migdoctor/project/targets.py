"""A fleet of databases that share one history: the targets file of ``--targets FILE``.

One target per line, ``NAME URL [-x KEY=VALUE …]``: a name of the user's choosing (shown in the
summary), the database URL, and ``-x`` arguments for env.py (a tenant's schema, say), as on
alembic's command line. ``#`` starts a comment; blank lines are skipped; words are split as a
shell splits them, so a URL or value with spaces can be quoted. A mistake names its line.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from migdoctor.errors import MigdoctorError, describe_os_error

FORMAT = "NAME URL [-x KEY=VALUE ...]"


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    x_arguments: tuple[str, ...] = ()
    line: int = 0


def read_targets(path: Path) -> tuple[Target, ...]:
    """The targets of ``path``, in file order; MigdoctorError naming the line of a mistake."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise MigdoctorError(
            f"Cannot read the targets file {path}: {describe_os_error(error)}."
        ) from None
    except UnicodeDecodeError:
        raise MigdoctorError(f"The targets file {path} is not UTF-8 text.") from None
    targets: list[Target] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        try:
            words = shlex.split(line, comments=True)
        except ValueError as error:
            raise MigdoctorError(f"{path}:{number}: {error}.", hint=f"Write {FORMAT}.") from None
        if not words:
            continue
        target = _target(words, number, path)
        if target.name in seen:
            raise MigdoctorError(
                f"{path}:{number}: the name {target.name!r} is already used on line "
                f"{seen[target.name]}.",
                hint="Give every target a name of its own.",
            )
        seen[target.name] = number
        targets.append(target)
    if not targets:
        raise MigdoctorError(f"The targets file {path} names no target.", hint=f"Write {FORMAT}.")
    return tuple(targets)


def _target(words: list[str], number: int, path: Path) -> Target:
    if len(words) < 2:
        raise MigdoctorError(
            f"{path}:{number}: a target needs a name and a URL.", hint=f"Write {FORMAT}."
        )
    name, url, *rest = words
    if "://" not in url:
        raise MigdoctorError(
            f"{path}:{number}: {url!r} is not a database URL.",
            hint="A URL looks like postgresql+psycopg://user@host/db or sqlite:///app.db.",
        )
    arguments: list[str] = []
    index = 0
    while index < len(rest):
        word = rest[index]
        if word == "-x" and index + 1 < len(rest):
            value, index = rest[index + 1], index + 2
        elif word.startswith("-x") and len(word) > 2:
            value, index = word[2:], index + 1
        else:
            raise MigdoctorError(
                f"{path}:{number}: unexpected {word!r} after the URL.", hint=f"Write {FORMAT}."
            )
        arguments.append(value)
    return Target(name, url, tuple(arguments), number)
