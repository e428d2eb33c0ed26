"""migdoctor's own settings: ``[tool.migdoctor]`` in the pyproject.toml next to the Alembic
configuration (the one alembic reads ``[tool.alembic]`` from).

- ``ignore = ["MD401", "destructive-operation"]``: checks (by code or slug) never reported;
- ``large_table_rows = 10000``: from how many rows a table is large enough for a blocking
  index build to be worth a warning (blocking-index).

The pytest plugin reads ``config`` and ``scratch_url`` from the same table.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migdoctor.errors import MigdoctorError

LARGE_TABLE_ROWS = 10_000
KNOWN = ("ignore", "large_table_rows", "config", "scratch_url")


@dataclass(frozen=True)
class MigdoctorSettings:
    ignore: tuple[str, ...] = ()
    large_table_rows: int = LARGE_TABLE_ROWS

    def ignores(self, *names: str) -> bool:
        """Whether a check known by any of ``names`` (slug, code) is ignored."""
        wanted = {name.lower() for name in self.ignore}
        return any(name.lower() in wanted for name in names)


def read_settings(pyproject: Path) -> MigdoctorSettings:
    """``[tool.migdoctor]`` of ``pyproject`` (the defaults when it has none)."""
    if not pyproject.is_file():
        return MigdoctorSettings()
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - the dependency for Python 3.10
        import tomli as tomllib
    try:
        table: Any = tomllib.loads(pyproject.read_text()).get("tool", {}).get("migdoctor", {})
    except (OSError, ValueError) as error:
        raise MigdoctorError(f"Cannot read {pyproject}: {error}") from error
    if not isinstance(table, dict):
        raise MigdoctorError(f"[tool.migdoctor] in {pyproject} is not a table.")
    unknown = sorted(set(table) - set(KNOWN))
    if unknown:
        raise MigdoctorError(
            f"Unknown setting(s) in [tool.migdoctor] of {pyproject}: {', '.join(unknown)} "
            f"(known: {', '.join(KNOWN)})."
        )
    ignore = table.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(item, str) for item in ignore):
        raise MigdoctorError(
            f"ignore in [tool.migdoctor] of {pyproject} must be a list of check codes or slugs."
        )
    rows = table.get("large_table_rows", LARGE_TABLE_ROWS)
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        raise MigdoctorError(
            f"large_table_rows in [tool.migdoctor] of {pyproject} must be a whole number >= 0."
        )
    return MigdoctorSettings(tuple(ignore), rows)
