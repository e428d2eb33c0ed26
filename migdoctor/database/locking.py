"""One writer at a time: a database-level lock around every fix, upgrade, downgrade and stamp.

- MySQL/MariaDB: ``GET_LOCK`` (a named lock of the server, held by a session of our own);
- PostgreSQL: a session advisory lock (two int4 keys: migdoctor's and the version table's);
- SQLite: an exclusive lock on a small file in the temporary folder, named after the database
  file (SQLite itself cannot say who holds its locks); writes of the version table also run
  in ``BEGIN IMMEDIATE`` transactions.

When the lock is not granted within the timeout, the error names the session that holds it.

The lock is taken once per process: a command takes it before it reads anything (the preflight
and the planning of a fix run under it), and what it runs inside (alembic's upgrade, a fix's
transaction) finds it already held. Beside the lock the holder leaves marks a check can read —
what it is doing (upgrade, fix, ...) and the revision running — so that ``migdoctor check`` says
"an upgrade is in progress" instead of diagnosing the half-done state. Before each revision the
run verifies the lock is still held: when its session was ended on the server, the run stops.
How the lock and its marks are named is in :mod:`migdoctor.database.lock_names`; how a check
reads another run's marks, in :mod:`migdoctor.database.run_in_progress`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import TYPE_CHECKING, Any

from migdoctor.database.held_lock import HeldLock
from migdoctor.database.lock_names import (
    POSTGRES_MARK_CLASS,
    crc,
    lock_name,
    mark_name,
    postgres_keys,
)
from migdoctor.database.sessions import mysql_sessions, postgres_sessions
from migdoctor.database.sqlite_files import sqlite_file, sqlite_holder, sqlite_lock_file
from migdoctor.errors import EXIT_FAILED, CannotWrite, MigdoctorError, describe_os_error
from migdoctor.facts.sessions import SessionInfo

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

POLL_SECONDS = 0.2


class LockNotGranted(MigdoctorError):
    """Another migdoctor (or migration) holds the lock of this database."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, holders: tuple[SessionInfo, ...]) -> None:
        super().__init__(message, hint="Wait for it to finish, or end that session.")
        self.holders = holders


# the locks this process holds, by database and name: taken again, they are already held
_HELD: dict[str, HeldLock] = {}


@contextmanager
def migration_lock(
    connection: Connection,
    version_table: str,
    schema: str | None,
    timeout: float,
    on_wait: Callable[[str], None] | None = None,
    purpose: str = "fix",
) -> Iterator[HeldLock | None]:
    """Hold the database's migration lock for the duration; ``timeout`` 0 waits for ever.
    ``on_wait`` is told who holds the lock when it is not free at once. Taken again in the same
    process, the lock is already held: it is yielded as it is."""
    dialect = connection.dialect.name
    name = lock_name(connection, version_table, schema)
    key = _held_key(connection, name)
    already = _HELD.get(key) if key is not None else None
    if already is not None:
        already.depth += 1
        try:
            yield already
        finally:
            already.depth -= 1
        return
    waiting = on_wait or (lambda holder: None)
    lock: AbstractContextManager[HeldLock | None]
    if dialect in ("mysql", "mariadb"):
        lock = _mysql_lock(connection, name, timeout, waiting, purpose)
    elif dialect == "postgresql":
        lock = _postgres_lock(connection, name, timeout, waiting, purpose)
    elif dialect == "sqlite":
        lock = _sqlite_lock(connection, timeout, waiting, purpose)
    else:  # other databases: no lock, as alembic itself
        yield None
        return
    with lock as held:
        if held is None or key is None:
            yield held
            return
        _HELD[key] = held
        try:
            yield held
        finally:
            _HELD.pop(key, None)


def _held_key(connection: Connection, name: str) -> str | None:
    dialect = connection.dialect.name
    if dialect == "sqlite":
        return sqlite_file(connection)
    url = connection.engine.url
    return f"{dialect}://{url.host}:{url.port}/{name}"


def held_here(connection: Connection, version_table: str, schema: str | None) -> bool:
    """Whether this process holds the lock (then it is no other run in progress)."""
    key = _held_key(connection, lock_name(connection, version_table, schema))
    return key is not None and key in _HELD


def _own_session(connection: Connection) -> Connection:
    """A separate session for the lock, with the same connection settings as env.py's."""
    return connection.engine.connect()


@contextmanager
def _mysql_lock(
    connection: Connection,
    name: str,
    timeout: float,
    on_wait: Callable[[str], None],
    purpose: str,
) -> Iterator[HeldLock]:
    from sqlalchemy import text

    session = _own_session(connection)

    def holders() -> tuple[SessionInfo, ...]:
        holder = session.execute(text("SELECT IS_USED_LOCK(:name)"), {"name": name}).scalar()
        return mysql_sessions(session, [holder]) if holder is not None else ()

    try:
        get_lock = text("SELECT GET_LOCK(:name, :wait)")
        granted = session.execute(get_lock, {"name": name, "wait": 0}).scalar()
        if granted != 1:
            on_wait(_describe(holders()))
            wait = -1 if timeout == 0 else math.ceil(timeout)
            granted = session.execute(get_lock, {"name": name, "wait": wait}).scalar()
        if granted != 1:
            raise _not_granted(name, timeout, holders())
        own = session.execute(text("SELECT CONNECTION_ID()")).scalar()
        # what this run does, beside the lock (released with it)
        session.execute(get_lock, {"name": mark_name(name, "purpose", purpose), "wait": 0})
        try:
            yield HeldLock("mysql", name, purpose, session_id=str(own))
        finally:
            _quietly(session, "SELECT RELEASE_LOCK(:name)", name=name)
            _quietly(
                session, "SELECT RELEASE_LOCK(:name)", name=mark_name(name, "purpose", purpose)
            )
    finally:
        _close(session)


def _quietly(session: Connection, statement: str, **parameters: Any) -> None:
    """Release what the lock's session holds; a session ended on the server released it all."""
    from sqlalchemy import text

    with suppress(Exception):  # nothing is held by a session that is gone
        session.execute(text(statement), parameters)


def _close(session: Connection) -> None:
    with suppress(Exception):  # a dead session closes as it can
        session.close()


@contextmanager
def _postgres_lock(
    connection: Connection,
    name: str,
    timeout: float,
    on_wait: Callable[[str], None],
    purpose: str,
) -> Iterator[HeldLock]:
    from sqlalchemy import text

    first, second = postgres_keys(name)
    session = _own_session(connection).execution_options(isolation_level="AUTOCOMMIT")
    try:
        deadline = None if timeout == 0 else time.monotonic() + timeout
        told = False
        while True:
            granted = session.execute(
                text("SELECT pg_try_advisory_lock(:a, :b)"), {"a": first, "b": second}
            ).scalar()
            if granted:
                break
            if not told:
                on_wait(_describe(postgres_lock_holders(session, first, second)))
                told = True
            if deadline is not None and time.monotonic() >= deadline:
                raise _not_granted(name, timeout, postgres_lock_holders(session, first, second))
            time.sleep(POLL_SECONDS)
        own = session.execute(text("SELECT pg_backend_pid()")).scalar()
        session.execute(
            text("SELECT pg_try_advisory_lock(:a, :b)"),
            {"a": POSTGRES_MARK_CLASS, "b": crc(mark_name(name, "purpose", purpose))},
        )
        try:
            yield HeldLock("postgresql", name, purpose, session_id=str(own))
        finally:
            _quietly(session, "SELECT pg_advisory_unlock_all()")
    finally:
        _close(session)


@contextmanager
def _sqlite_lock(
    connection: Connection, timeout: float, on_wait: Callable[[str], None], purpose: str
) -> Iterator[HeldLock | None]:
    path = sqlite_file(connection)
    if path is None:
        yield None
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: SQLite's own locking must do
        yield None
        return
    lock_path = sqlite_lock_file(path)
    try:
        descriptor = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    except OSError as error:
        raise CannotWrite(
            f"Cannot write the lock file {lock_path}: {describe_os_error(error)}; "
            "nothing was changed."
        ) from None
    try:
        deadline = None if timeout == 0 else time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = sqlite_holder(lock_path)
                if not told:
                    on_wait(f"another migdoctor ({holder})")
                    told = True
                if deadline is not None and time.monotonic() >= deadline:
                    raise LockNotGranted(
                        f"Another migdoctor ({holder}) is changing {path}; waited "
                        f"{timeout:g}s. Nothing was changed.",
                        (),
                    ) from None
                time.sleep(POLL_SECONDS)
        held = HeldLock("sqlite", path, purpose, lock_file=lock_path, descriptor=descriptor)
        with suppress(OSError):  # who holds it is only told to a waiting run (a full disk, say)
            held._write_marks(process=os.getpid(), purpose=purpose, since=time.time())
        try:
            yield held
        finally:
            os.ftruncate(descriptor, 0)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def begin_immediate(connection: Connection, timeout: float) -> None:
    """On SQLite, take the write lock now (``BEGIN IMMEDIATE``), so that nothing writes between
    reading the version table and changing it; other databases lock rows as they go."""
    if connection.dialect.name != "sqlite":
        return
    dbapi = connection.connection.dbapi_connection
    if dbapi is None or getattr(dbapi, "in_transaction", False):
        return
    busy_ms = 0 if timeout == 0 else int(timeout * 1000)
    connection.exec_driver_sql(f"PRAGMA busy_timeout = {busy_ms if busy_ms else 2**31 - 1}")
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _describe(holders: tuple[SessionInfo, ...]) -> str:
    return "; ".join(holder.describe() for holder in holders) or "a session that has since ended"


def _not_granted(name: str, timeout: float, holders: tuple[SessionInfo, ...]) -> LockNotGranted:
    who = _describe(holders)
    return LockNotGranted(
        f"The migration lock of this database ({name}) is held by {who}; waited {timeout:g}s. "
        "Nothing was changed.",
        holders,
    )


def postgres_lock_holders(session: Connection, first: int, second: int) -> tuple[SessionInfo, ...]:
    from sqlalchemy import text

    pids = (
        session.execute(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = :a AND objid = :b AND objsubid = 2"
            ),
            {"a": first, "b": second},
        )
        .scalars()
        .all()
    )
    return postgres_sessions(session, list(pids))
