"""Two runs take turns, and a run that stops says honestly what it left.

Every test drives the installed CLI as a subprocess against a real database, with a revision
that pauses half way (after its ``create_table``, before its ``create_index``) until the test
lets it go: a second upgrade started then must wait and find nothing to do, ``check`` must say an
upgrade is in progress, Ctrl-C or SIGTERM must leave a message naming the revision and what of it
is in the schema, and a killed server session must stop the run with a clear message.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import Database
from tests.helpers import (
    ANSI,
    COMMENT,
    PAUSING_UPGRADE,
    SLOW,
    Pausing,
    add_revision,
    copy_project,
    finish,
    migdoctor_command,
    output_so_far,
    pausing_project,
)


def wait_for(process: subprocess.Popen[str], words: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while words not in output_so_far(process):
        assert process.poll() is None, finish(process)
        assert time.monotonic() < deadline, output_so_far(process)
        time.sleep(0.05)


MISLEADING = ("partial-migration", "table-exists", "stamp --force", "neuter-upgrade")


@pytest.mark.parametrize(
    "second", [("upgrade",), ("fix", "upgrade", "--yes")], ids=["upgrade", "fix-upgrade"]
)
def test_a_second_run_waits_for_the_first_and_finds_nothing_to_do(
    tmp_path: Path, database: Database, second: tuple[str, ...]
) -> None:
    pausing = pausing_project(tmp_path, database)
    first = pausing.start("upgrade", "--lock-timeout", "30")
    pausing.wait_until_paused(first)
    other = pausing.start(*second, "--lock-timeout", "30")
    wait_for(other, "Waiting for the migration lock")
    time.sleep(1)  # it waits: it must not go on reading the database
    assert other.poll() is None, finish(other)
    pausing.go_on()

    first_code, first_output = finish(first)
    second_code, second_output = finish(other)

    assert first_code == 0, first_output
    assert "Upgraded 1 revision" in first_output
    assert "Waiting for the migration lock" in second_output
    assert "Nothing to upgrade" in second_output, second_output
    assert second_code in (0, 1), second_output  # fix upgrade at head: see issue 10, class 11
    assert "Traceback" not in second_output
    for word in MISLEADING:
        assert word not in second_output, second_output
    assert database.version_rows() == [SLOW]


def _what_is_left_is_said(output: str, database: Database) -> None:
    """The message names the revision and, read back, which of its operations are in the
    schema: on the database as it really is now."""
    assert "Read back: the version table holds 3c4d5e6f7081." in output, output
    if "tag" in database.table_names():  # MySQL, SQLite: the DDL that ran stays
        assert "Of revision 8b8b8b8b8b8b, in the schema: create table tag (id, name)." in output
        assert "Not in the schema: create index ix_tag_name on tag (name)." in output
        assert "half applied" in output
    else:  # PostgreSQL rolled it back
        assert "None of revision 8b8b8b8b8b8b's operations is in the schema." in output
    assert database.version_rows() == [COMMENT]


@pytest.mark.parametrize(
    ("signal_number", "words", "exit_code"),
    [(signal.SIGINT, "Interrupted (Ctrl-C)", 130), (signal.SIGTERM, "Terminated (SIGTERM)", 143)],
    ids=["SIGINT", "SIGTERM"],
)
def test_an_interrupted_upgrade_says_which_revision_and_what_of_it_is_applied(
    tmp_path: Path, database: Database, signal_number: int, words: str, exit_code: int
) -> None:
    pausing = pausing_project(tmp_path, database)
    run = pausing.start("upgrade")
    pausing.wait_until_paused(run)
    run.send_signal(signal_number)
    code, output = finish(run)

    assert code == exit_code, output
    assert "Traceback" not in output
    assert "[1/1] 8b8b8b8b8b8b slow tag …" in output  # the progress line is kept
    assert f"{words} while revision 8b8b8b8b8b8b (slow tag) was running." in output
    _what_is_left_is_said(output, database)


def test_ctrl_c_on_a_terminal_keeps_the_progress_line_and_the_message(
    tmp_path: Path, database: Database
) -> None:
    pausing = pausing_project(tmp_path, database)
    with terminal([*migdoctor_command(), "upgrade"], pausing) as (process, read):
        pausing.wait_until_paused(process)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        output = read()

    assert process.returncode == 130, output
    assert "✗ [1/1] 8b8b8b8b8b8b slow tag (stopped after" in output
    assert "Interrupted (Ctrl-C) while revision 8b8b8b8b8b8b (slow tag) was running." in output
    _what_is_left_is_said(" ".join(output.split()), database)


@contextmanager
def terminal(
    command: list[str], pausing: Pausing
) -> Iterator[tuple[subprocess.Popen[bytes], Callable[[], str]]]:
    """``command`` on a pseudo-terminal (rich then draws its live progress line)."""
    import pty
    import select

    primary, secondary = pty.openpty()
    env = {**pausing.env, "TERM": "xterm", "COLUMNS": "200", "LINES": "50"}
    process = subprocess.Popen(
        command,
        cwd=pausing.project.root,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
    )
    os.close(secondary)
    chunks: list[bytes] = []

    def read() -> str:
        while True:
            ready, _, _ = select.select([primary], [], [], 0.5)
            if not ready:
                break
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return ANSI.sub("", b"".join(chunks).decode("utf-8", "replace")).replace("\r\n", "\n")

    try:
        yield process, read
    finally:
        if process.poll() is None:
            process.kill()
        os.close(primary)


def test_an_interrupted_fix_journals_what_it_left(tmp_path: Path, database: Database) -> None:
    pausing = pausing_project(tmp_path, database)
    run = pausing.start("fix", "upgrade", "--yes")
    pausing.wait_until_paused(run)
    run.send_signal(signal.SIGINT)
    code, output = finish(run)

    assert code != 0, output
    assert "Traceback" not in output
    journal = pausing.project.root / ".migdoctor" / "journal.jsonl"
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    last = records[-1]
    assert last["event"] == "interrupted", records
    assert last["read_back"]["revision"] == SLOW
    assert last["read_back"]["version_rows"] == [COMMENT]
    if "tag" in database.table_names():
        assert last["read_back"]["in_schema"] == ["create table tag (id, name)"]
        assert last["read_back"]["not_in_schema"] == ["create index ix_tag_name on tag (name)"]
        assert last["state"].startswith("partly applied")
        assert "state left: old" not in output
        assert "in the schema: create table tag (id, name)" in output
    else:
        assert last["read_back"]["in_schema"] == []
        assert last["state"] == "old"


def _lock_session(database: Database) -> str:
    """The server session holding migdoctor's migration lock of this database."""
    from migdoctor.database.lock_names import POSTGRES_LOCK_CLASS, lock_name

    engine = database.engine()
    with engine.connect() as connection:
        name = lock_name(connection, "alembic_version", None)
        if database.backend == "mysql":
            holder = connection.execute(text("SELECT IS_USED_LOCK(:n)"), {"n": name}).scalar()
        else:
            import zlib

            holder = connection.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND classid = :a AND objid = :b"
                ),
                {"a": POSTGRES_LOCK_CLASS, "b": zlib.crc32(name.encode()) & 0x7FFFFFFF},
            ).scalar()
    engine.dispose()
    assert holder is not None, "nobody holds the migration lock"
    return str(holder)


def _migration_session(database: Database, lock_session: str) -> str:
    """The session running the migration: the other one of this database."""
    engine = database.engine()
    with engine.connect() as connection:
        if database.backend == "mysql":
            ids = connection.execute(
                text(
                    "SELECT ID FROM information_schema.PROCESSLIST "
                    "WHERE DB = DATABASE() AND ID <> CONNECTION_ID()"
                )
            ).scalars()
        else:
            ids = connection.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalars()
        others = [str(i) for i in ids if str(i) != lock_session]
    engine.dispose()
    assert len(others) == 1, others
    return others[0]


def _kill(database: Database, session: str) -> None:
    statement = (
        f"KILL {session}"
        if database.backend == "mysql"
        else (f"SELECT pg_terminate_backend({session})")
    )
    database.execute(statement)


@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_a_run_whose_lock_session_is_killed_stops_before_its_next_revision(
    tmp_path: Path, server_database: Database
) -> None:
    pausing = pausing_project(tmp_path, server_database, then=True)
    run = pausing.start("upgrade")
    pausing.wait_until_paused(run)
    session = _lock_session(server_database)
    _kill(server_database, session)
    pausing.go_on()
    code, output = finish(run)

    assert code == 1, output
    assert "Traceback" not in output
    assert f"The session that held the migration lock (session {session}) is gone" in output
    assert "the upgrade stopped before revision 9c9c9c9c9c9c (create label)" in output
    assert "label" not in server_database.table_names()
    assert "Read back: the version table holds" in output
    # and the next run carries on from there
    again = pausing.project.migdoctor("check", "--format", "json")
    assert "migration-in-progress" not in {f["check"] for f in again.json()["findings"]}


@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_a_run_whose_own_session_is_killed_says_what_it_left(
    tmp_path: Path, server_database: Database
) -> None:
    pausing = pausing_project(tmp_path, server_database)
    run = pausing.start("upgrade")
    pausing.wait_until_paused(run)
    _kill(server_database, _migration_session(server_database, _lock_session(server_database)))
    pausing.go_on()
    code, output = finish(run)

    assert code == 1, output
    assert "Traceback" not in output
    assert "✗ Revision 8b8b8b8b8b8b (slow tag) failed" in output
    _what_is_left_is_said(output, server_database)


@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_a_fix_that_completed_is_journaled_applied_though_its_lock_session_died(
    tmp_path: Path, server_database: Database
) -> None:
    pausing = pausing_project(tmp_path, server_database)
    run = pausing.start("fix", "upgrade", "--yes")
    pausing.wait_until_paused(run)
    _kill(server_database, _lock_session(server_database))
    pausing.go_on()  # the last revision: nothing is left to stop before
    code, output = finish(run)

    assert code == 0, output
    assert "Traceback" not in output
    assert server_database.version_rows() == [SLOW]
    journal = pausing.project.root / ".migdoctor" / "journal.jsonl"
    events = [json.loads(line)["event"] for line in journal.read_text().splitlines()]
    # what the revision created is journaled as it goes (revision-done), then the outcome
    assert events == ["started", "revision-done", "applied"], events


def test_check_does_not_wait_behind_the_locks_of_a_run_in_progress(
    tmp_path: Path, database: Database
) -> None:
    """The run alters an existing table and pauses with its transaction open (PostgreSQL then
    holds an ACCESS EXCLUSIVE lock on it): check must not reflect it, and answers at once."""
    project = copy_project("blog", tmp_path / "project", database)
    project.upgrade("head")
    add_revision(
        project,
        SLOW,
        COMMENT,
        PAUSING_UPGRADE.replace(
            "op.create_table('tag'",
            "op.add_column('user', sa.Column('nickname', sa.String(20)))\nop.create_table('tag'",
        ),
        message="slow tag",
        imports="import os\nimport pathlib\nimport time",
    )
    pausing = Pausing(project, tmp_path / "started", tmp_path / "release")
    run = pausing.start("upgrade")
    try:
        pausing.wait_until_paused(run)
        started = time.monotonic()
        during = project.migdoctor("check", "--format", "json")
        took = time.monotonic() - started
    finally:
        pausing.go_on()
        code, output = finish(run)

    assert code == 0, output
    assert during.exit_code == 1, during
    assert "migration-in-progress" in {f["check"] for f in during.json()["findings"]}
    assert took < 20, took
