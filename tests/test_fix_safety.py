"""A fix never interleaves with another, and an interrupt or a lost connection leaves the old
state or the new one, with the journal saying which."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import Database
from tests.helpers import (
    Project,
    copy_project,
    create_article_outside_migrations,
    journal,
    migdoctor_command,
)

USER, ARTICLE = "1a2b3c4d5e6f", "2b3c4d5e6f70"


def blog_with_hand_made_article(tmp_path: Path, database: Database) -> Project:
    project = copy_project("blog", tmp_path / "project", database)
    project.upgrade(USER)
    create_article_outside_migrations(database)
    return project


def hold_migration_lock(database: Database):  # type: ignore[no-untyped-def]
    """Take migdoctor's lock from another session, as a second migdoctor would; returns the
    connection (keep it open) and its session id."""
    from migdoctor.database.lock_names import lock_name, postgres_keys

    connection = database.engine().connect()
    name = lock_name(connection, "alembic_version", None)
    if database.backend == "mysql":
        assert connection.execute(text("SELECT GET_LOCK(:n, 0)"), {"n": name}).scalar() == 1
        session = connection.execute(text("SELECT CONNECTION_ID()")).scalar()
    else:
        first, second = postgres_keys(name)
        connection.execute(text("SELECT pg_advisory_lock(:a, :b)"), {"a": first, "b": second})
        connection.commit()
        session = connection.execute(text("SELECT pg_backend_pid()")).scalar()
    return connection, session


@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_a_fix_waits_for_the_lock_and_names_who_holds_it(
    tmp_path: Path, server_database: Database
) -> None:
    project = blog_with_hand_made_article(tmp_path, server_database)
    holder, session = hold_migration_lock(server_database)
    try:
        started = time.monotonic()
        result = project.migdoctor(
            "fix", "stamp", "--revision", ARTICLE, "--yes", "--lock-timeout", "2"
        )
        waited = time.monotonic() - started
    finally:
        holder.close()

    assert result.exit_code == 1, result
    assert f"held by session {session}" in result.stderr
    assert "Nothing was changed." in result.stderr
    assert waited < 20
    assert server_database.version_rows() == [USER]
    # the lock comes before anything is read or planned: nothing was journaled
    assert journal(project) == []


def test_a_fix_waits_for_the_sqlite_lock(tmp_path: Path) -> None:
    import fcntl
    import hashlib
    import tempfile

    database = Database("sqlite", f"sqlite:///{tmp_path / 'app.db'}")
    project = blog_with_hand_made_article(tmp_path, database)
    digest = hashlib.sha1(str(tmp_path / "app.db").encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"migdoctor-{digest}.lock"
    descriptor = os.open(lock_path, os.O_CREAT | os.O_RDWR)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        os.write(descriptor, f"process {os.getpid()}".encode())
        result = project.migdoctor(
            "fix", "stamp", "--revision", ARTICLE, "--yes", "--lock-timeout", "1"
        )
    finally:
        os.ftruncate(descriptor, 0)
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)

    assert result.exit_code == 1, result
    assert f"process {os.getpid()}" in result.stderr
    assert database.version_rows() == [USER]


def _blocked_fix(project: Project, database: Database) -> tuple[subprocess.Popen[str], object]:
    """Start a stamp while another session holds the version row, and wait until it blocks."""
    blocker = database.engine().connect()
    blocker.execute(text("SELECT version_num FROM alembic_version FOR UPDATE"))  # stays open
    process = subprocess.Popen(
        [*migdoctor_command(), "fix", "stamp", "--revision", ARTICLE, "--yes"],
        cwd=project.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    return process, blocker


def _wait_for(condition: Callable[[], object], seconds: float = 30) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def _waiting_session(database: Database) -> object:
    """The id of the session blocked on the version row (the fix's own connection)."""
    if database.backend == "mysql":
        query = (
            "SELECT ID FROM information_schema.PROCESSLIST "
            "WHERE INFO LIKE 'UPDATE alembic_version%%'"
        )
    else:
        query = (
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE 'UPDATE alembic_version%%'"
        )
    rows = database.scalars(query)
    return rows[0] if rows else None


@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_lost_connection_leaves_the_old_state_and_says_so(
    tmp_path: Path, server_database: Database
) -> None:
    project = blog_with_hand_made_article(tmp_path, server_database)
    process, blocker = _blocked_fix(project, server_database)
    try:
        session = _wait_for(lambda: _waiting_session(server_database))
        if server_database.backend == "mysql":
            server_database.execute(f"KILL {session}")
        else:
            server_database.execute(f"SELECT pg_terminate_backend({session})")
        _, stderr = process.communicate(timeout=60)
    finally:
        blocker.close()  # type: ignore[attr-defined]
        if process.poll() is None:
            process.kill()

    assert process.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert "state left: old" in stderr
    assert server_database.version_rows() == [USER]
    events = journal(project)
    assert [record["event"] for record in events] == ["started", "failed"]
    assert events[-1]["state"] == "old"


@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_interrupt_leaves_the_old_state_and_says_so(
    tmp_path: Path, server_database: Database
) -> None:
    project = blog_with_hand_made_article(tmp_path, server_database)
    process, blocker = _blocked_fix(project, server_database)
    try:
        _wait_for(lambda: _waiting_session(server_database))
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        blocker.close()  # type: ignore[attr-defined]
        if process.poll() is None:
            process.kill()

    assert process.returncode != 0, stderr
    assert "Traceback" not in stderr
    assert server_database.version_rows() == [USER]
    events = journal(project)
    assert [record["event"] for record in events] == ["started", "interrupted"]
    assert events[-1]["state"] == "old"
