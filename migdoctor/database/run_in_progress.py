"""Another run in progress, as a check sees it: who holds the migration lock, since when,
doing what and running which revision, read from the marks the holder leaves beside the lock."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from migdoctor.database.lock_names import (
    POSTGRES_MARK_CLASS,
    PURPOSES,
    crc,
    lock_name,
    mark_name,
    postgres_keys,
)
from migdoctor.database.locking import held_here, postgres_lock_holders
from migdoctor.database.sessions import mysql_sessions
from migdoctor.database.sqlite_files import sqlite_file, sqlite_lock_file, sqlite_marks
from migdoctor.facts.sessions import RunInProgress, SessionInfo

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


HOLDS = "holds the migration lock"


def run_in_progress(
    connection: Connection, version_table: str, schema: str | None, revisions: Sequence[str]
) -> RunInProgress | None:
    """Who else holds the migration lock, since when, doing what and running which of
    ``revisions`` (each where it can be told); None when nobody (or this process) holds it.
    Reads only what says who holds a lock: it never waits for one."""
    if held_here(connection, version_table, schema):
        return None
    name = lock_name(connection, version_table, schema)
    dialect = connection.dialect.name
    if dialect in ("mysql", "mariadb"):
        return _mysql_run(connection, name, revisions)
    if dialect == "postgresql":
        return _postgres_run(connection, name, revisions)
    if dialect == "sqlite":
        return _sqlite_run(connection)
    return None


def _mysql_run(connection: Connection, name: str, revisions: Sequence[str]) -> RunInProgress | None:
    from sqlalchemy import text

    holder = connection.execute(text("SELECT IS_USED_LOCK(:name)"), {"name": name}).scalar()
    if holder is None:
        return None
    marks = [("purpose", p) for p in PURPOSES] + [("revision", r) for r in revisions]
    selects = ", ".join(f"IS_USED_LOCK(:m{index})" for index in range(len(marks)))
    used = connection.execute(
        text(f"SELECT {selects}"),
        {f"m{index}": mark_name(name, kind, value) for index, (kind, value) in enumerate(marks)},
    ).one()
    found = {
        kind: value for (kind, value), user in zip(marks, used, strict=True) if user is not None
    }
    sessions = mysql_sessions(connection, [holder])
    idle = connection.execute(
        text("SELECT TIME FROM information_schema.PROCESSLIST WHERE ID = :id"), {"id": holder}
    ).scalar()
    return RunInProgress(
        holder=replace(sessions[0] if sessions else SessionInfo(str(holder)), evidence=HOLDS),
        purpose=found.get("purpose"),
        seconds=None if idle is None else int(idle),
        revision=found.get("revision"),
    )


def _postgres_run(
    connection: Connection, name: str, revisions: Sequence[str]
) -> RunInProgress | None:
    from sqlalchemy import text

    first, second = postgres_keys(name)
    holders = postgres_lock_holders(connection, first, second)
    if not holders:
        return None
    held_marks = set(
        connection.execute(
            text(
                "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = :a AND objsubid = 2 AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"a": POSTGRES_MARK_CLASS},
        ).scalars()
    )
    purpose = next((p for p in PURPOSES if crc(mark_name(name, "purpose", p)) in held_marks), None)
    # one transaction may hold the marks of several revisions: the last to start runs
    running = [r for r in revisions if crc(mark_name(name, "revision", r)) in held_marks]
    since = connection.execute(
        text(
            "SELECT EXTRACT(EPOCH FROM now() - backend_start) FROM pg_stat_activity "
            "WHERE pid = :pid"
        ),
        {"pid": int(holders[0].session_id)},
    ).scalar()
    return RunInProgress(
        holder=replace(holders[0], evidence=HOLDS),
        purpose=purpose,
        seconds=None if since is None else int(since),
        revision=running[-1] if running else None,
    )


def _sqlite_run(connection: Connection) -> RunInProgress | None:
    path = sqlite_file(connection)
    if path is None:
        return None
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock file to ask
        return None
    lock_path = sqlite_lock_file(path)
    if not lock_path.exists():
        return None
    descriptor = os.open(lock_path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pass  # held: by another run
        else:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            return None
    finally:
        os.close(descriptor)
    marks = sqlite_marks(lock_path)
    since = marks.get("since")
    return RunInProgress(
        process=f"process {marks['process']}" if "process" in marks else None,
        purpose=marks.get("purpose"),
        seconds=int(time.time() - since) if isinstance(since, (int, float)) else None,
        revision=marks.get("revision"),
    )
