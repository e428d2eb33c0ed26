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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migdoctor.errors import CannotCheck

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

POSTGRES_LOCK_CLASS = 0x6D64  # "md"
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class SessionInfo:
    """Another database session, described as a DBA would want to see it."""

    session_id: str
    user: str | None = None
    client: str | None = None
    state: str | None = None
    transaction_seconds: int | None = None
    statement: str | None = None

    def describe(self) -> str:
        parts = [f"session {self.session_id}"]
        if self.user:
            parts.append(f"user {self.user}")
        if self.client:
            parts.append(f"from {self.client}")
        if self.state:
            parts.append(f"state {self.state}")
        if self.transaction_seconds is not None:
            parts.append(f"transaction open {self.transaction_seconds}s")
        if self.statement:
            text = " ".join(self.statement.split())
            parts.append(f"last statement: {text[:160]}")
        return ", ".join(parts)


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
    connection: Connection, version_table: str, schema: str | None, timeout: float
) -> Iterator[None]:
    """Hold the database's migration lock for the duration; ``timeout`` 0 waits for ever."""
    dialect = connection.dialect.name
    name = lock_name(connection, version_table, schema)
    if dialect in ("mysql", "mariadb"):
        with _mysql_lock(connection, name, timeout):
            yield
    elif dialect == "postgresql":
        with _postgres_lock(connection, name, timeout):
            yield
    elif dialect == "sqlite":
        with _sqlite_lock(connection, timeout):
            yield
    else:  # other databases: no lock, as alembic itself
        yield


def _own_session(connection: Connection) -> Connection:
    """A separate session for the lock, with the same connection settings as env.py's."""
    return connection.engine.connect()


@contextmanager
def _mysql_lock(connection: Connection, name: str, timeout: float) -> Iterator[None]:
    from sqlalchemy import text

    session = _own_session(connection)
    try:
        wait = -1 if timeout == 0 else math.ceil(timeout)
        granted = session.execute(
            text("SELECT GET_LOCK(:name, :wait)"), {"name": name, "wait": wait}
        ).scalar()
        if granted != 1:
            holder = session.execute(text("SELECT IS_USED_LOCK(:name)"), {"name": name}).scalar()
            holders = mysql_sessions(session, [holder]) if holder is not None else ()
            raise _not_granted(name, timeout, holders)
        try:
            yield
        finally:
            session.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
    finally:
        session.close()


def _postgres_keys(name: str) -> tuple[int, int]:
    return POSTGRES_LOCK_CLASS, zlib.crc32(name.encode()) & 0x7FFFFFFF


@contextmanager
def _postgres_lock(connection: Connection, name: str, timeout: float) -> Iterator[None]:
    from sqlalchemy import text

    first, second = _postgres_keys(name)
    session = _own_session(connection).execution_options(isolation_level="AUTOCOMMIT")
    try:
        deadline = None if timeout == 0 else time.monotonic() + timeout
        while True:
            granted = session.execute(
                text("SELECT pg_try_advisory_lock(:a, :b)"), {"a": first, "b": second}
            ).scalar()
            if granted:
                break
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
def _sqlite_lock(connection: Connection, timeout: float) -> Iterator[None]:
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
    descriptor = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        deadline = None if timeout == 0 else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    holder = lock_path.read_text().strip() or "another process"
                    raise LockNotGranted(
                        f"Another migdoctor ({holder}) is changing {path}; waited {timeout:g}s.",
                        (),
                    ) from None
                time.sleep(POLL_SECONDS)
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"process {os.getpid()}".encode())
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


def _not_granted(name: str, timeout: float, holders: tuple[SessionInfo, ...]) -> LockNotGranted:
    who = "; ".join(holder.describe() for holder in holders) or "a session that has since ended"
    return LockNotGranted(
        f"The migration lock of this database ({name}) is held by {who}; waited {timeout:g}s.",
        holders,
    )


def mysql_sessions(session: Connection, ids: list[Any]) -> tuple[SessionInfo, ...]:
    """Process list rows (and open transactions) of MySQL/MariaDB sessions ``ids``."""
    from sqlalchemy import bindparam, text

    if not ids:
        return ()
    rows = session.execute(
        text(
            "SELECT p.ID, p.USER, p.HOST, p.COMMAND, p.STATE, p.INFO, "
            "TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) "
            "FROM information_schema.PROCESSLIST p "
            "LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID "
            "WHERE p.ID IN :ids"
        ).bindparams(bindparam("ids", expanding=True)),
        {"ids": [int(i) for i in ids]},
    ).all()
    return tuple(
        SessionInfo(
            session_id=str(row[0]),
            user=row[1],
            client=row[2],
            state=" ".join(str(part) for part in (row[3], row[4]) if part) or None,
            transaction_seconds=None if row[6] is None else int(row[6]),
            statement=row[5],
        )
        for row in rows
    )


def postgres_sessions(session: Connection, pids: list[Any]) -> tuple[SessionInfo, ...]:
    """``pg_stat_activity`` rows of PostgreSQL backends ``pids``."""
    from sqlalchemy import bindparam, text

    if not pids:
        return ()
    rows = session.execute(
        text(
            "SELECT pid, usename, client_addr, application_name, state, query, "
            "EXTRACT(EPOCH FROM now() - xact_start) "
            "FROM pg_stat_activity WHERE pid IN :pids"
        ).bindparams(bindparam("pids", expanding=True)),
        {"pids": [int(p) for p in pids]},
    ).all()
    return tuple(
        SessionInfo(
            session_id=str(row[0]),
            user=row[1],
            client=" ".join(str(part) for part in (row[2], row[3]) if part) or None,
            state=row[4],
            transaction_seconds=None if row[6] is None else int(row[6]),
            statement=row[5],
        )
        for row in rows
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
