"""Read the ini file and ``[tool.alembic]`` of pyproject.toml as alembic's ``Config`` does:
interpolation, path separators, and ``package:folder`` locations."""

from __future__ import annotations

import ast
import configparser
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from migdoctor.errors import MigdoctorError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_PATH_SEPARATORS = {"space": " ", "newline": "\n", "os": os.pathsep, ":": ":", ";": ";"}
_LEGACY_VERSION_SPLIT = re.compile(r", *|(?: +)")
_LEGACY_SYS_PATH_SPLIT = re.compile(r", *|(?: +)|\:")


def read_ini(path: Path) -> configparser.ConfigParser:
    here = path.absolute().parent if path.is_file() else Path()
    parser = configparser.ConfigParser({"here": here.as_posix()})
    try:
        parser.read([path], encoding="locale")
    except (configparser.Error, UnicodeDecodeError) as error:
        raise MigdoctorError(f"Cannot read {path}{_ini_problem(path, error)}") from error
    except OSError as error:
        raise MigdoctorError(f"Cannot read {path}: {error.strerror or error}") from error
    return parser


def _ini_problem(path: Path, error: configparser.Error | UnicodeDecodeError) -> str:
    """``, line N: what is wrong there`` for an ini file configparser refused."""
    if isinstance(error, UnicodeDecodeError):
        with path.open("rb") as handle:
            line = handle.read(error.start).count(b"\n") + 1
        return f", line {line}: not text in the expected encoding ({error.reason})"
    if isinstance(error, configparser.MissingSectionHeaderError):
        if error.line.strip().startswith("["):
            return f", line {error.lineno}: {error.line.strip()!r} is not a section header (no ']')"
        return (
            f", line {error.lineno}: {error.line.strip()!r} comes before any section header "
            "(a header reads [name] on a line of its own)"
        )
    if isinstance(error, configparser.ParsingError) and error.errors:
        lineno, text = error.errors[0]
        try:  # configparser keeps the repr of the line
            stripped = str(ast.literal_eval(text)).strip()
        except (ValueError, SyntaxError):
            stripped = str(text).strip()
        if stripped.startswith("["):
            return f", line {lineno}: {stripped!r} is not a section header (no ']')"
        return f", line {lineno}: {stripped!r} is neither [section] nor name = value"
    if isinstance(error, (configparser.DuplicateSectionError, configparser.DuplicateOptionError)):
        where = f", line {error.lineno}" if error.lineno else ""
        return f"{where}: {error.message.split(': ', 1)[-1]}"
    return f": {str(error).strip().splitlines()[0]}"


def read_toml_section(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (tomllib.TOMLDecodeError, OSError) as error:
        raise MigdoctorError(f"Cannot read {path}: {error}") from error
    section = data.get("tool", {}).get("alembic")
    if section is None:
        return None
    if not isinstance(section, dict):
        raise MigdoctorError(f"[tool.alembic] in {path} is not a table.")
    return section


def interpolated(parser: configparser.ConfigParser, section: str, name: str, path: Path) -> str:
    try:
        return parser.get(section, name)
    except configparser.InterpolationError as error:
        raise MigdoctorError(
            f"Cannot read {name} in [{section}] of {path}: a '%' must be written '%%' "
            "in an ini file."
        ) from error


def toml_value(value: Any, args: Mapping[str, str], name: str, path: Path) -> Any:
    try:
        if isinstance(value, str):
            return value % args
        if isinstance(value, list):
            if value and isinstance(value[0], dict):
                return [{k: v % args for k, v in item.items()} for item in value]
            return [item % args for item in value]
        if isinstance(value, dict):
            return {k: v % args for k, v in value.items()}
    except (KeyError, ValueError, TypeError) as error:
        raise MigdoctorError(f"Cannot read {name} in [tool.alembic] of {path}: {error}") from error
    return value


def _separator(parser: configparser.ConfigParser, section: str, *names: str) -> str | None:
    if not parser.has_section(section):
        return None
    for name in names:
        if parser.has_option(section, name):
            value = parser.get(section, name)
            try:
                return _PATH_SEPARATORS[value]
            except KeyError:
                raise MigdoctorError(
                    f"{value!r} is not a valid value for {name}; expected "
                    "'space', 'newline', 'os', ':', ';'"
                ) from None
    return None


def read_version_locations(
    parser: configparser.ConfigParser, section: str, option: Any
) -> list[str] | None:
    raw = parser.get(section, "version_locations", fallback=None)
    if raw:
        separator = _separator(parser, section, "path_separator", "version_path_separator")
        if separator is None:
            return _LEGACY_VERSION_SPLIT.split(raw)
        return [item.strip() for item in raw.split(separator) if item]
    value = option("version_locations")
    return list(value) if value else None


def read_prepend_sys_path(
    parser: configparser.ConfigParser, section: str, option: Any
) -> list[str]:
    raw = parser.get(section, "prepend_sys_path", fallback=None)
    if raw:
        separator = _separator(parser, section, "path_separator")
        if separator is None:
            return _LEGACY_SYS_PATH_SPLIT.split(raw)
        return [item.strip() for item in raw.split(separator) if item]
    value = option("prepend_sys_path")
    return list(value) if value else []


def resolve_location(setting: str, prepend_sys_path: Sequence[str]) -> Path:
    """A path, or a ``package:folder`` resource as ``coerce_resource_to_filename`` reads it."""
    if os.path.isabs(setting) or ":" not in setting:
        return Path(setting)
    import importlib.resources

    for entry in reversed(prepend_sys_path):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    package, *parts = setting.split(":")
    try:
        resource = importlib.resources.files(package)
    except (ImportError, TypeError) as error:
        raise MigdoctorError(
            f"script location {setting!r} names package {package!r}, which cannot be imported: "
            f"{error}"
        ) from error
    for part in parts:
        resource = resource / part
    return Path(str(resource))


def resolve_script_location(setting: str, prepend_sys_path: Sequence[str]) -> Path:
    location = resolve_location(setting, prepend_sys_path)
    if not location.exists():
        raise MigdoctorError(
            f"script_location {setting!r} does not exist ({location.absolute()}).",
            hint="Run migdoctor from the folder alembic runs from, or pass -c PATH.",
        )
    return location
