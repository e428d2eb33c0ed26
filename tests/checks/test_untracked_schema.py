"""untracked-schema: tables no revision accounts for, put into a real database on every backend and
diagnosed through the installed CLI."""

from __future__ import annotations

from tests.conftest import Database
from tests.helpers import (
    Project,
    finding,
)

HEAD = "r10tighten"  # the ledger fixture's head


def test_start_over_over_a_populated_database_is_untracked_schema(
    ledger: Project, database: Database
) -> None:
    ledger.upgrade(HEAD)
    for path in ledger.versions.glob("*.py"):
        path.unlink()
    database.execute("DROP TABLE alembic_version")

    result = ledger.migdoctor("check")
    _, document = ledger.check_json()

    assert result.exit_code == 1, result
    untracked = finding(document, "untracked-schema")
    assert (untracked["code"], untracked["severity"]) == ("MD108", "error")
    assert sorted(untracked["evidence"]["tables"]) == ["account", "entry", "member"]
    assert "empty baseline" in untracked["message"]
