"""The end-session fix: ends the session in the way of an upgrade, only with consent; undo passes
over it (MySQL and PostgreSQL: SQLite has no session to end)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import blog_with_bio, hold_user_table


@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_end_session_fix_ends_the_blocker(tmp_path: Path, server_database: Database) -> None:
    project = blog_with_bio(tmp_path, server_database)
    blocker, session = hold_user_table(server_database)
    try:
        refused = project.migdoctor("fix", "end-session", "--session", session)
        ended = project.migdoctor("fix", "end-session", "--session", session, "--yes")
        gone = session not in [
            str(s)
            for s in server_database.scalars(
                "SELECT ID FROM information_schema.PROCESSLIST"
                if server_database.backend == "mysql"
                else "SELECT pid FROM pg_stat_activity"
            )
        ]
    finally:
        # its server session was ended: closing reports that
        with contextlib.suppress(Exception):
            blocker.close()

    assert refused.exit_code == 2  # no consent without a terminal
    assert ended.exit_code == 0, ended
    assert gone
    undo = project.migdoctor("undo", "--yes")
    assert undo.exit_code == 0  # passed over with a note: nothing else to undo
    assert "cannot be brought back" in undo.stdout
    assert "Nothing to undo" in undo.stdout
