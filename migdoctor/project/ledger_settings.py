"""Whether migdoctor keeps its ledger of applied revisions, and in which table.

Read from ``[tool.migdoctor]`` of pyproject.toml and the ``[migdoctor]`` section of the ini file
(the ini wins where both say something): ``ledger = false`` turns the ledger off,
``ledger_table = name`` names its table (default ``migdoctor_ledger``). ``--no-ledger`` turns it
off for one run.
"""

from __future__ import annotations

import configparser
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migdoctor.errors import MigdoctorError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DEFAULT_LEDGER_TABLE = "migdoctor_ledger"
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_FALSE = ("false", "no", "off", "0")
_TRUE = ("true", "yes", "on", "1")


@dataclass(frozen=True)
class LedgerSettings:
    enabled: bool = True
    table: str = DEFAULT_LEDGER_TABLE


def read_ledger_settings(
    parser: configparser.ConfigParser, ini_path: Path, toml_path: Path, no_ledger: bool
) -> LedgerSettings:
    settings: dict[str, Any] = {}
    where = {"ledger": "", "ledger_table": ""}
    if toml_path.is_file():
        try:
            with toml_path.open("rb") as handle:
                section = tomllib.load(handle).get("tool", {}).get("migdoctor", {})
        except (tomllib.TOMLDecodeError, OSError):
            section = {}  # the Alembic configuration reading says what is wrong with the file
        if isinstance(section, dict):
            for name in where:
                if name in section:
                    settings[name], where[name] = section[name], f"[tool.migdoctor] of {toml_path}"
    if parser.has_section("migdoctor"):
        for name in where:
            if parser.has_option("migdoctor", name):
                settings[name] = parser.get("migdoctor", name, raw=True).strip()
                where[name] = f"[migdoctor] of {ini_path}"
    enabled = _boolean(settings.get("ledger", True), where["ledger"])
    table = settings.get("ledger_table", DEFAULT_LEDGER_TABLE)
    if not isinstance(table, str) or not _TABLE_NAME.match(table):
        raise MigdoctorError(
            f"ledger_table in {where['ledger_table']} must be a plain table name "
            f"(letters, digits, underscores), not {table!r}."
        )
    return LedgerSettings(enabled=enabled and not no_ledger, table=table)


def _boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _FALSE + _TRUE:
        return value.strip().lower() in _TRUE
    raise MigdoctorError(f"ledger in {where} must be true or false, not {value!r}.")
