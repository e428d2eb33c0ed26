"""migdoctor's own settings, read in one place: ``[tool.migdoctor]`` of the pyproject.toml next to
the Alembic configuration (the one alembic reads ``[tool.alembic]`` from), and the ``[migdoctor]``
section of the ini file, which wins where both say something.

- ``ignore = ["MD401", "destructive-operation"]``: checks (by code or slug) never reported (in an
  ini file: a comma-separated list);
- ``large_table_rows = 10000``: from how many rows a table is large enough for the warnings of
  the blast-radius checks that only matter on big tables;
- ``ledger = false``: keep no ledger of applied revisions (``--no-ledger`` for one run);
- ``ledger_table = "name"``: the ledger's table (default ``migdoctor_ledger``);
- ``lock_timeout = 10``, ``statement_timeout = 300``, ``retries = 3``: what every writer
  (``upgrade``, also with ``--targets``, ``downgrade``, ``stamp``, each fix, ``undo``,
  ``squash``) takes when ``--lock-timeout``, ``--statement-timeout`` and ``--retries`` are not
  given (seconds, ``0`` for no limit; a whole number of retries); the command line wins
  (``commands.run_settings``).

The pytest plugin reads ``config`` and ``scratch_url`` from the same table (:data:`KNOWN`).
"""

from __future__ import annotations

import configparser
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migdoctor.errors import MigdoctorError

LARGE_TABLE_ROWS = 10_000
DEFAULT_LEDGER_TABLE = "migdoctor_ledger"
# every key [tool.migdoctor] may hold; the last two are the pytest plugin's
KNOWN = (
    "ignore",
    "large_table_rows",
    "ledger",
    "ledger_table",
    "lock_timeout",
    "statement_timeout",
    "retries",
    "config",
    "scratch_url",
)
# the keys an ini file's [migdoctor] section may hold (the rest are the pytest plugin's)
INI_KEYS = KNOWN[:7]
_NUMBERS = ("large_table_rows", "lock_timeout", "statement_timeout", "retries")
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_FALSE = ("false", "no", "off", "0")
_TRUE = ("true", "yes", "on", "1")


@dataclass(frozen=True)
class LedgerSettings:
    enabled: bool = True
    table: str = DEFAULT_LEDGER_TABLE


@dataclass(frozen=True)
class MigdoctorSettings:
    ignore: tuple[str, ...] = ()
    large_table_rows: int = LARGE_TABLE_ROWS
    ledger: LedgerSettings = field(default_factory=LedgerSettings)
    # every writer's defaults for --lock-timeout, --statement-timeout, --retries (None: not
    # set: the command's own default)
    lock_timeout: float | None = None
    statement_timeout: float | None = None
    retries: int | None = None

    def ignores(self, *names: str) -> bool:
        """Whether a check known by any of ``names`` (slug, code) is ignored."""
        wanted = {name.lower() for name in self.ignore}
        return any(name.lower() in wanted for name in names)


def read_settings(
    toml_path: Path,
    parser: configparser.ConfigParser | None = None,
    ini_path: Path | None = None,
    no_ledger: bool = False,
) -> MigdoctorSettings:
    """The settings ``toml_path`` and the ini file's ``[migdoctor]`` section give (the defaults
    where they say nothing); MigdoctorError naming the file of a wrong value."""
    values, where = _from_pyproject(toml_path)
    if parser is not None and parser.has_section("migdoctor"):
        for name in INI_KEYS:
            if parser.has_option("migdoctor", name):
                text = parser.get("migdoctor", name, raw=True).strip()
                values[name] = _ini_value(name, text)
                where[name] = f"[migdoctor] of {ini_path}"
    ignore = values.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(item, str) for item in ignore):
        raise MigdoctorError(
            f"ignore in {where.get('ignore')} must be a list of check codes or slugs."
        )
    rows = values.get("large_table_rows", LARGE_TABLE_ROWS)
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        raise MigdoctorError(
            f"large_table_rows in {where.get('large_table_rows')} must be a whole number >= 0."
        )
    table = values.get("ledger_table", DEFAULT_LEDGER_TABLE)
    if not isinstance(table, str) or not _TABLE_NAME.match(table):
        raise MigdoctorError(
            f"ledger_table in {where.get('ledger_table')} must be a plain table name "
            f"(letters, digits, underscores), not {table!r}."
        )
    enabled = _boolean(values.get("ledger", True), where.get("ledger", ""))
    seconds = {
        name: _seconds(values.get(name), name, where.get(name, ""))
        for name in ("lock_timeout", "statement_timeout")
    }
    retries = values.get("retries")
    if retries is not None and (
        not isinstance(retries, int) or isinstance(retries, bool) or retries < 0
    ):
        raise MigdoctorError(
            f"retries in {where.get('retries')} must be a whole number >= 0, not {retries!r}."
        )
    return MigdoctorSettings(
        ignore=tuple(ignore),
        large_table_rows=rows,
        ledger=LedgerSettings(enabled=enabled and not no_ledger, table=table),
        lock_timeout=seconds["lock_timeout"],
        statement_timeout=seconds["statement_timeout"],
        retries=retries,
    )


def _seconds(value: Any, name: str, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise MigdoctorError(
            f"{name} in {where} must be a number of seconds >= 0 (0: no limit), not {value!r}."
        )
    return float(value)


def _from_pyproject(toml_path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    if not toml_path.is_file():
        return {}, {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - the dependency for Python 3.10
        import tomli as tomllib
    try:
        table: Any = tomllib.loads(toml_path.read_text()).get("tool", {}).get("migdoctor", {})
    except (OSError, ValueError) as error:
        raise MigdoctorError(f"Cannot read {toml_path}: {error}") from error
    if not isinstance(table, dict):
        raise MigdoctorError(f"[tool.migdoctor] in {toml_path} is not a table.")
    unknown = sorted(set(table) - set(KNOWN))
    if unknown:
        raise MigdoctorError(
            f"Unknown setting(s) in [tool.migdoctor] of {toml_path}: {', '.join(unknown)} "
            f"(known: {', '.join(KNOWN)})."
        )
    return dict(table), dict.fromkeys(table, f"[tool.migdoctor] of {toml_path}")


def _ini_value(name: str, text: str) -> Any:
    """An ini value as the TOML one would be: a list for ignore, a number where one is meant."""
    if name == "ignore":
        return [item.strip() for item in text.split(",") if item.strip()]
    if name in _NUMBERS:
        for number in (int, float):
            try:
                return number(text)
            except ValueError:
                continue
    return text


def _boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _FALSE + _TRUE:
        return value.strip().lower() in _TRUE
    raise MigdoctorError(f"ledger in {where} must be true or false, not {value!r}.")
