"""lock-contention: another session holds a lock on a table a pending revision alters (the user
table, which the bio revision alters), and check names it: on MySQL and PostgreSQL the session,
with end-session offered; on SQLite the write lock, which no session can be named for."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import COMMENT, blog_with_bio, finding, hold_user_table


@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_a_session_in_the_way_of_a_pending_revision_is_named(
    tmp_path: Path, server_database: Database
) -> None:
    project = blog_with_bio(tmp_path, server_database)
    blocker, session = hold_user_table(server_database)
    try:
        code, report = project.check_json()
    finally:
        blocker.close()

    assert code == 1  # stale-current: the bio revision is pending
    contention = finding(report, "lock-contention")
    assert (contention["code"], contention["severity"]) == ("MD104", "warning")
    assert "user" in contention["evidence"]["tables"]
    # MariaDB without performance_schema lists every open transaction: others may be named too
    assert session in [s["session"] for s in contention["evidence"]["sessions"]]
    ending = [f for f in contention["fixes"] if f["command"].endswith(f"--session {session}")]
    assert [(f["id"], f["risk"]) for f in ending] == [("end-session", "dangerous")]
    assert ending[0]["command"].endswith(f"fix end-session --session {session}")
    assert server_database.version_rows() == [COMMENT]


def test_sqlite_write_lock_is_reported_without_a_session(tmp_path: Path) -> None:
    database = Database("sqlite", f"sqlite:///{tmp_path / 'app.db'}")
    project = blog_with_bio(tmp_path, database)
    holder = sqlite3.connect(tmp_path / "app.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, as an open write transaction holds it
    try:
        code, report = project.check_json("--lock-timeout", "2")
    finally:
        holder.rollback()
        holder.close()

    assert code == 1  # stale-current: the bio revision is pending
    contention = finding(report, "lock-contention")
    assert "SQLite cannot say which process" in contention["message"]
    assert "user" in contention["evidence"]["tables"]
    assert contention["fixes"] == []
    assert database.version_rows() == [COMMENT]
