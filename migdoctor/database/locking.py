"""One writer at a time: a database-level lock around every fix, upgrade, downgrade and stamp.

- MySQL/MariaDB: ``GET_LOCK`` (a named lock of the server, held by a session of our own);
- PostgreSQL: a session advisory lock (two int4 keys: migdoctor's and the version table's);
- SQLite: an exclusive lock on a small file in the temporary folder, named after the database
  file (SQLite itself cannot say who holds its locks); writes of the version table also run
  in ``BEGIN IMMEDIATE`` transactions.

When the lock is not granted within the timeout, the error names the session that holds it.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from migdoctor.database.sessions import mysql_sessions, postgres_sessions
from migdoctor.errors import CannotCheck, CannotWrite, describe_os_error
from migdoctor.facts import SessionInfo

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

POSTGRES_LOCK_CLASS = 0x6D64  # "md"
POLL_SECONDS = 0.2


class LockNotGranted(CannotCheck):
    """Another migdoctor (or migration) holds the lock of this database."""

    exit_code = 1

    def __init__(self, message: str, holders: tuple[SessionInfo, ...]) -> None:
        super().__init__(message, hint="Wait for it to finish, or end that session.")
        self.holders = holders


def lock_name(connection: Connection, version_table: str, schema: str | None) -> str:
    database = connection.engine.url.database or ""
    qualified = f"{schema}.{version_table}" if schema else version_table
    name = f"migdoctor:{database}:{qualified}"
    if len(name) > 64:  # MySQL's limit for lock names
        name = "migdoctor:" + hashlib.sha1(name.encode()).hexdigest()
    return name


@contextmanager
def migration_lock(
    connection: Connection,
    version_table: str,
    schema: str | None,
    timeout: float,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the database's migration lock for the duration; ``timeout`` 0 waits for ever.
    ``on_wait`` is told who holds the lock when it is not free at once."""
    dialect = connection.dialect.name
    name = lock_name(connection, version_table, schema)
    waiting = on_wait or (lambda holder: None)
    if dialect in ("mysql", "mariadb"):
        with _mysql_lock(connection, name, timeout, waiting):
            yield
    elif dialect == "postgresql":
        with _postgres_lock(connection, name, timeout, waiting):
            yield
    elif dialect == "sqlite":
        with _sqlite_lock(connection, timeout, waiting):
            yield
    else:  # other databases: no lock, as alembic itself
        yield


def _own_session(connection: Connection) -> Connection:
    """A separate session for the lock, with the same connection settings as env.py's."""
    return connection.engine.connect()


@contextmanager
def _mysql_lock(
    connection: Connection, name: str, timeout: float, on_wait: Callable[[str], None]
) -> Iterator[None]:
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
        try:
            yield
        finally:
            session.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
    finally:
        session.close()


def _postgres_keys(name: str) -> tuple[int, int]:
    return POSTGRES_LOCK_CLASS, zlib.crc32(name.encode()) & 0x7FFFFFFF


@contextmanager
def _postgres_lock(
    connection: Connection, name: str, timeout: float, on_wait: Callable[[str], None]
) -> Iterator[None]:
    from sqlalchemy import text

    first, second = _postgres_keys(name)
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
        try:
            yield
        finally:
            session.execute(text("SELECT pg_advisory_unlock(:a, :b)"), {"a": first, "b": second})
    finally:
        session.close()


def sqlite_file(connection: Connection) -> str | None:
    database = connection.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return str(Path(database).absolute())


@contextmanager
def _sqlite_lock(
    connection: Connection, timeout: float, on_wait: Callable[[str], None]
) -> Iterator[None]:
    path = sqlite_file(connection)
    if path is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: SQLite's own locking must do
        yield
        return
    digest = hashlib.sha1(path.encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"migdoctor-{digest}.lock"
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
                holder = lock_path.read_text().strip() or "another process"
                if not told:
                    on_wait(f"another migdoctor ({holder})")
                    told = True
                if deadline is not None and time.monotonic() >= deadline:
                    raise LockNotGranted(
                        f"Another migdoctor ({holder}) is changing {path}; waited {timeout:g}s.",
                        (),
                    ) from None
                time.sleep(POLL_SECONDS)
        try:
            os.ftruncate(descriptor, 0)
            os.write(descriptor, f"process {os.getpid()}".encode())
        except OSError:  # who holds it is only told to a waiting run (a full disk, say)
            pass
        try:
            yield
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
        f"The migration lock of this database ({name}) is held by {who}; waited {timeout:g}s.",
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
