"""Whether the project declares a package: its requirements files and pyproject.toml.

A revision that fails on ``No module named 'x'`` means one of two things: the package is
declared but not installed where migdoctor runs (install the project's requirements), or it is
declared nowhere (the project would fail the same way on a fresh machine). Only the names are
compared, after normalizing them as packaging does (``Foo_Bar`` and ``foo-bar`` are one name);
a distribution whose name differs from its module's (``PyYAML`` for ``yaml``) is not recognized,
so "not listed" is said with that caveat.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
# how far above the Alembic config a project's requirements may be (a monorepo's app folder)
_LEVELS_UP = 3


@dataclass(frozen=True)
class Declarations:
    """The requirement files found, and where each normalized name is declared
    (``requirements.txt:3``)."""

    files: tuple[Path, ...]
    declared: dict[str, tuple[str, ...]]

    def where(self, module: str) -> tuple[str, ...]:
        """Where the top-level package of ``module`` is declared (empty when nowhere)."""
        return self.declared.get(normalize(module.split(".")[0]), ())


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def find_declarations(base_directory: Path, shown: Path | None = None) -> Declarations:
    """The requirement files of the project whose Alembic config is in ``base_directory``
    (there and up to the repository's root), paths shown relative to ``shown``."""
    files = list(_requirement_files(base_directory))
    declared: dict[str, list[str]] = {}
    for path in files:
        try:
            names = list(_declared_names(path))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        where = _shown(path, shown)
        for name, line in names:
            declared.setdefault(normalize(name), []).append(f"{where}:{line}")
    return Declarations(tuple(files), {name: tuple(places) for name, places in declared.items()})


def _shown(path: Path, shown: Path | None) -> str:
    if shown is None:
        return str(path)
    try:
        return str(path.relative_to(shown))
    except ValueError:
        return str(path)


def _requirement_files(base_directory: Path) -> Iterator[Path]:
    folder = base_directory.resolve()
    for _ in range(_LEVELS_UP + 1):
        for pattern in ("requirements*.txt", "requirements/*.txt", "pyproject.toml", "setup.cfg"):
            yield from sorted(p for p in folder.glob(pattern) if p.is_file())
        if (folder / ".git").exists() or folder.parent == folder:
            break
        folder = folder.parent


def _declared_names(path: Path) -> Iterator[tuple[str, int]]:
    """(name, line) of each package the file declares (and a pyproject's own project name:
    the application itself)."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    if path.name == "pyproject.toml":
        for name in _pyproject_names(tomllib.loads(text)):
            yield name, _line_of(lines, name)
    elif path.name == "setup.cfg":
        yield from _setup_cfg_names(lines)
    else:
        for number, line in enumerate(lines, 1):
            line = line.split("#", 1)[0]
            if line.lstrip().startswith("-"):  # -r, -e, --index-url: not a name here
                continue
            match = _NAME.match(line)
            if match:
                yield match.group(1), number


def _pyproject_names(document: dict[str, Any]) -> Iterator[str]:
    project = document.get("project", {})
    if isinstance(project.get("name"), str):
        yield project["name"]
    specs: list[Any] = list(project.get("dependencies", []))
    for group in project.get("optional-dependencies", {}).values():
        specs.extend(group)
    for group in document.get("dependency-groups", {}).values():
        specs.extend(group)
    for spec in specs:
        match = _NAME.match(spec) if isinstance(spec, str) else None
        if match:
            yield match.group(1)
    poetry = document.get("tool", {}).get("poetry", {})
    if isinstance(poetry.get("name"), str):
        yield poetry["name"]
    tables = [poetry.get("dependencies", {}), poetry.get("dev-dependencies", {})]
    tables += [group.get("dependencies", {}) for group in poetry.get("group", {}).values()]
    for table in tables:
        yield from (name for name in table if name != "python")


def _setup_cfg_names(lines: list[str]) -> Iterator[tuple[str, int]]:
    inside = False
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if re.match(r"(install_requires|name)\s*=", stripped):
            inside = stripped.startswith("install_requires")
            value = stripped.split("=", 1)[1]
            match = _NAME.match(value)
            if match:
                yield match.group(1), number
            continue
        if inside and line[:1].isspace() and stripped:
            match = _NAME.match(stripped)
            if match:
                yield match.group(1), number
        elif stripped:
            inside = False


def _line_of(lines: list[str], name: str) -> int:
    wanted = normalize(name)
    for number, line in enumerate(lines, 1):
        for token in re.findall(r"[A-Za-z0-9][A-Za-z0-9._-]*", line):
            if normalize(token) == wanted:
                return number
    return 1
