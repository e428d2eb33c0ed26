"""check and the preflight never wait for ever on a lock: every read is bounded (a few seconds,
or ``--lock-timeout``), and a read that gives up names the table and the session in the way.

Each lock is held by a real second session, in a process of its own, and released in
``finally``; the assertions are on what the user sees, on how long the run took, and on the
database afterwards (nothing written).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import Project, Result, blog_with_bio, copy_project

USER, ARTICLE, COMMENT = "1a2b3c4d5e6f", "2b3c4d5e6f70", "3c4d5e6f7081"
BIO = "4d5e6f708192"  # pending: adds a column to "user", which check then reflects
# what a run may take beyond its timeout: starting Python, env.py, naming the sessions (on a
# loaded machine); a hang is what this rules out
MARGIN = 12.0
# another session's lock on the version table, as each server takes it
VERSION_TABLE_LOCKS = [
    ("postgresql", "LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"),
    ("mysql", "LOCK TABLES alembic_version WRITE"),
]

HOLDER = r"""
import sys
from sqlalchemy import create_engine, pool, text

url, *statements = sys.argv[1:]
connection = create_engine(url, poolclass=pool.NullPool).connect()
dialect = connection.dialect.name
if dialect == "postgresql":
    session = connection.execute(text("SELECT pg_backend_pid()")).scalar()
elif dialect == "mysql":
    session = connection.execute(text("SELECT CONNECTION_ID()")).scalar()
else:
    session = "-"
print(session, flush=True)
for statement in statements:
    connection.exec_driver_sql(statement)
print("held", flush=True)
sys.stdin.read()  # holds until the test lets go
"""


@contextmanager
def holding(database: Database, *statements: str, blocks: bool = False) -> Iterator[str]:
    """Another process runs ``statements`` on a session of its own and keeps its transaction
    open; yields that session's id. ``blocks``: the last statement waits for a lock (it is
    ended on the server before the others let go, so it never runs)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, database.url, *statements],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    session = ""
    try:
        session = process.stdout.readline().strip()
        assert session, process.stderr.read() if process.stderr else ""
        if blocks:
            _wait_until_waiting(database, session)
        else:
            held = process.stdout.readline().strip()
            assert held == "held", process.stderr.read() if process.stderr else ""
        yield session
    finally:
        if blocks and session:
            with suppress(Exception):
                database.execute(
                    f"SELECT pg_terminate_backend({int(session)})"
                    if database.backend == "postgresql"
                    else f"KILL {int(session)}"
                )
        process.kill()
        process.wait()


def _wait_until_waiting(database: Database, session: str) -> None:
    query = (
        f"SELECT wait_event_type FROM pg_stat_activity WHERE pid = {int(session)}"
        if database.backend == "postgresql"
        else f"SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = {int(session)}"
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        state = str((database.scalars(query) or [""])[0] or "")
        if state == "Lock" or state.startswith("Waiting for"):
            return
        time.sleep(0.1)
    raise AssertionError(f"session {session} never waited for a lock")


def timed(project: Project, *args: str) -> tuple[Result, float]:
    started = time.monotonic()
    result = project.migdoctor(*args)
    return result, time.monotonic() - started


def state(database: Database) -> tuple[list[str], set[str]]:
    return database.version_rows(), database.table_names()


def assert_gave_up(
    result: Result, elapsed: float, seconds: float, table: str, sessions: list[str]
) -> None:
    assert result.exit_code == 2, result
    assert "Traceback" not in result.output
    assert "No problems found" not in result.output
    assert f"after {seconds:g}s" in result.stderr, result
    assert f"table {table}:" in result.stderr, result
    for session in sessions:
        assert f"session {session} " in result.stderr, result
    assert elapsed < seconds + MARGIN, elapsed


def blog_at(tmp_path: Path, database: Database, revision: str) -> Project:
    """The blog project at ``revision``; at BIO: at head, with a revision altering "user"
    pending."""
    if revision == BIO:
        return blog_with_bio(tmp_path, database)
    project = copy_project("blog", tmp_path / "project", database)
    project.upgrade(revision)
    return project


@pytest.mark.parametrize("server_database", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    ("revision", "table", "lock"),
    [
        # a table check reflects for the pending revision
        (BIO, "user", 'LOCK TABLE "user" IN ACCESS EXCLUSIVE MODE'),
        (ARTICLE, "alembic_version", "LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"),
        # at head: a table read only to compare the schema with the models
        (COMMENT, "comment", "LOCK TABLE comment IN ACCESS EXCLUSIVE MODE"),
        # an upgrade in flight: DDL inside an open transaction
        (BIO, "user", 'ALTER TABLE "user" ADD COLUMN in_flight INTEGER'),
    ],
)
def test_check_gives_up_on_a_postgres_lock_and_names_it(
    tmp_path: Path, server_database: Database, revision: str, table: str, lock: str
) -> None:
    project = blog_at(tmp_path, server_database, revision)
    before = state(server_database)

    with holding(server_database, lock) as session:
        result, elapsed = timed(project, "check", "--lock-timeout", "2")

    assert_gave_up(result, elapsed, 2, table, [session])
    assert f"pg_terminate_backend({session})" in result.stderr
    assert state(server_database) == before


@pytest.mark.parametrize("server_database", ["postgresql"], indirect=True)
def test_check_gives_up_behind_a_queue_and_names_both_sessions(
    tmp_path: Path, server_database: Database
) -> None:
    """An open FOR UPDATE transaction, and an ALTER waiting behind it: every new reader of the
    table queues behind the ALTER."""
    project = blog_at(tmp_path, server_database, BIO)
    before = state(server_database)

    with (
        holding(server_database, 'SELECT * FROM "user" FOR UPDATE') as reader,
        holding(
            server_database, 'ALTER TABLE "user" ADD COLUMN queued INTEGER', blocks=True
        ) as alter,
    ):
        result, elapsed = timed(project, "check", "--lock-timeout", "2")

    assert_gave_up(result, elapsed, 2, "user", [reader, alter])
    assert "waits for a lock on it" in result.stderr
    assert 'ALTER TABLE "user" ADD COLUMN queued' in result.stderr
    assert state(server_database) == before


@pytest.mark.parametrize("server_database", ["mysql"], indirect=True)
def test_check_gives_up_on_lock_tables_write(tmp_path: Path, server_database: Database) -> None:
    project = blog_at(tmp_path, server_database, ARTICLE)
    before = state(server_database)

    with holding(server_database, "LOCK TABLES alembic_version WRITE") as session:
        result, elapsed = timed(project, "check", "--lock-timeout", "2")

    assert_gave_up(result, elapsed, 2, "alembic_version", [session])
    assert f"KILL {session}" in result.stderr
    assert state(server_database) == before


@pytest.mark.parametrize("server_database", ["mysql"], indirect=True)
def test_check_gives_up_behind_a_metadata_lock_queue(
    tmp_path: Path, server_database: Database
) -> None:
    """MariaDB/MySQL: a transaction that read the version table keeps its metadata lock; an ALTER
    of that table waits for it, and every later reader queues behind the ALTER."""
    project = blog_at(tmp_path, server_database, ARTICLE)
    before = state(server_database)

    with (
        holding(server_database, "SELECT * FROM alembic_version") as reader,
        holding(
            server_database,
            "ALTER TABLE alembic_version MODIFY version_num VARCHAR(64) NOT NULL",
            blocks=True,
        ) as alter,
    ):
        result, elapsed = timed(project, "check", "--lock-timeout", "2")

    assert_gave_up(result, elapsed, 2, "alembic_version", [reader, alter])
    assert "waits for a lock on it" in result.stderr
    assert state(server_database) == before


@pytest.mark.parametrize(
    ("server_database", "lock"), VERSION_TABLE_LOCKS, indirect=["server_database"]
)
def test_the_preflight_of_upgrade_is_bounded_by_its_lock_timeout(
    tmp_path: Path, server_database: Database, lock: str
) -> None:
    project = blog_at(tmp_path, server_database, USER)
    before = state(server_database)

    with holding(server_database, lock) as session:
        result, elapsed = timed(project, "upgrade", "--lock-timeout", "3")

    assert_gave_up(result, elapsed, 3, "alembic_version", [session])
    assert "Gave up reading the version table alembic_version" in result.stderr
    assert state(server_database) == before


@pytest.mark.parametrize(
    ("server_database", "lock"), VERSION_TABLE_LOCKS, indirect=["server_database"]
)
def test_without_preflight_the_upgrade_s_own_version_read_gives_up(
    tmp_path: Path, server_database: Database, lock: str
) -> None:
    project = blog_at(tmp_path, server_database, USER)
    before = state(server_database)

    with holding(server_database, lock) as session:
        result, elapsed = timed(project, "upgrade", "--no-preflight", "--lock-timeout", "2")

    assert_gave_up(result, elapsed, 2, "alembic_version", [session])
    assert state(server_database) == before


def test_check_gives_up_on_a_sqlite_lock(tmp_path: Path) -> None:
    database = Database("sqlite", f"sqlite:///{tmp_path / 'app.db'}")
    project = blog_at(tmp_path, database, ARTICLE)
    digest = hashlib.sha256((tmp_path / "app.db").read_bytes()).hexdigest()

    with holding(database, "BEGIN EXCLUSIVE"):
        result, elapsed = timed(project, "check", "--lock-timeout", "2")

    assert result.exit_code == 2, result
    assert "after 2s" in result.stderr
    assert "another connection holds SQLite's lock" in result.stderr
    assert "SQLite cannot say which process" in result.stderr
    assert elapsed < 2 + MARGIN
    assert hashlib.sha256((tmp_path / "app.db").read_bytes()).hexdigest() == digest


def test_sqlite_write_lock_is_reported_and_upgrade_honours_lock_timeout(tmp_path: Path) -> None:
    database = Database("sqlite", f"sqlite:///{tmp_path / 'app.db'}")
    project = blog_at(tmp_path, database, USER)
    before = state(database)

    with holding(database, "BEGIN IMMEDIATE"):
        exit_code, report = project.check_json("--lock-timeout", "2")
        # the driver's own busy timeout is 5 s: waiting longer shows --lock-timeout is used
        upgrade, elapsed = timed(project, "upgrade", "--lock-timeout", "8")
        assert state(database) == before

    assert exit_code == 1  # stale-current: the database is behind
    contention = [f for f in report["findings"] if f["check"] == "lock-contention"]
    assert len(contention) == 1, report["findings"]
    assert "SQLite cannot say which process" in contention[0]["message"]
    assert "article" in contention[0]["evidence"]["tables"]
    assert contention[0]["fixes"] == []
    assert upgrade.exit_code == 1, upgrade
    assert "waited too long for a lock" in upgrade.stdout
    assert "SQLite cannot say which process" in upgrade.stdout
    assert 8 <= elapsed < 8 + MARGIN
    assert state(database) == before


def test_without_a_lock_check_reads_as_before(tmp_path: Path) -> None:
    database = Database("sqlite", f"sqlite:///{tmp_path / 'app.db'}")
    project = blog_at(tmp_path, database, COMMENT)

    exit_code, report = project.check_json("--lock-timeout", "2")

    assert exit_code == 0, report
    assert report["database"]["current"] == [COMMENT]


@pytest.mark.parametrize("command", [["check"], ["upgrade"], ["fix", "upgrade", "--yes"]])
def test_a_negative_lock_timeout_is_refused(tmp_path: Path, command: list[str]) -> None:
    database = Database("sqlite", f"sqlite:///{tmp_path / 'app.db'}")
    project = blog_at(tmp_path, database, USER)

    result = project.migdoctor(*command, "--lock-timeout", "-5")

    assert result.exit_code == 2, result
    assert "--lock-timeout" in result.stderr
    assert "0 or more" in result.stderr
    assert "Traceback" not in result.output
    assert database.version_rows() == [USER]
