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
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migdoctor.database.sessions import mysql_sessions, postgres_sessions
from migdoctor.errors import EXIT_FAILED, CannotWrite, MigdoctorError, describe_os_error
from migdoctor.facts.model import RunInProgress, SessionInfo

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

POSTGRES_LOCK_CLASS = 0x6D64  # "md"
POSTGRES_MARK_CLASS = 0x6D65  # the marks beside the lock
POLL_SECONDS = 0.2
HOLDS = "holds the migration lock"
# what a run holding the lock may be doing (one mark each, read back by check)
PURPOSES = ("upgrade", "downgrade", "stamp", "fix", "undo")


class LockNotGranted(MigdoctorError):
    """Another migdoctor (or migration) holds the lock of this database."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, holders: tuple[SessionInfo, ...]) -> None:
        super().__init__(message, hint="Wait for it to finish, or end that session.")
        self.holders = holders


class LockLost(MigdoctorError):
    """The session holding the migration lock is gone (ended on the server): another run may
    start alongside this one, so it must stop."""

    exit_code = EXIT_FAILED


@dataclass
class HeldLock:
    """The migration lock as this process holds it."""

    dialect: str
    name: str
    purpose: str
    session_id: str | None = None  # the lock's own server session
    lock_file: Path | None = None  # SQLite
    descriptor: int | None = None
    depth: int = 1
    marks: dict[str, Any] = field(default_factory=dict)

    def verify(self, connection: Connection) -> None:
        """Raise LockLost when the lock's session has ended (asked on ``connection``, another
        session, so that the lock's own session stays idle and its idle time says since when
        it holds the lock)."""
        from sqlalchemy import text

        if self.session_id is None:
            return
        if self.dialect in ("mysql", "mariadb"):
            holder = connection.execute(
                text("SELECT IS_USED_LOCK(:name)"), {"name": self.name}
            ).scalar()
            held = holder is not None and str(holder) == self.session_id
        else:
            first, second = _postgres_keys(self.name)
            held = bool(
                connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                        "AND pid = :pid AND classid = :a AND objid = :b AND objsubid = 2"
                    ),
                    {"pid": int(self.session_id), "a": first, "b": second},
                ).scalar()
            )
        if not held:
            raise LockLost(
                f"The session that held the migration lock (session {self.session_id}) is "
                "gone (ended on the server, or its connection lost), so another run could "
                "start alongside this one.",
                hint="migdoctor check shows the state left; run the command again.",
            )

    @contextmanager
    def running(self, connection: Connection, revision: str) -> Iterator[None]:
        """Mark ``revision`` as running while it runs, for a check to read."""
        from sqlalchemy import text

        mark = _mark_name(self.name, "revision", revision)
        if self.dialect in ("mysql", "mariadb"):
            connection.execute(text("SELECT GET_LOCK(:mark, 0)"), {"mark": mark})
        elif self.dialect == "postgresql":
            # released with the transaction the revision runs in
            connection.execute(
                text("SELECT pg_try_advisory_xact_lock(:a, :b)"),
                {"a": POSTGRES_MARK_CLASS, "b": _crc(mark)},
            )
        else:
            self._write_marks(revision=revision)
        try:
            yield
        finally:
            if self.dialect in ("mysql", "mariadb"):
                # a lost connection took the mark with it
                with suppress(Exception):
                    connection.execute(text("SELECT RELEASE_LOCK(:mark)"), {"mark": mark})
            elif self.dialect == "sqlite":
                self._write_marks(revision=None)

    def _write_marks(self, **marks: Any) -> None:
        if self.descriptor is None:
            return
        self.marks.update(marks)
        os.ftruncate(self.descriptor, 0)
        os.pwrite(self.descriptor, json.dumps(self.marks).encode(), 0)


# the locks this process holds, by database and name: taken again, they are already held
_HELD: dict[str, HeldLock] = {}


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


def _mark_name(name: str, kind: str, value: str) -> str:
    mark = f"md:{hashlib.sha1(name.encode()).hexdigest()[:16]}:{kind[0]}:{value}"
    if len(mark) > 64:  # MySQL's limit for lock names
        mark = mark[:40] + hashlib.sha1(mark.encode()).hexdigest()[:24]
    return mark


def _crc(text: str) -> int:
    return zlib.crc32(text.encode()) & 0x7FFFFFFF


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
        session.execute(get_lock, {"name": _mark_name(name, "purpose", purpose), "wait": 0})
        try:
            yield HeldLock("mysql", name, purpose, session_id=str(own))
        finally:
            _quietly(session, "SELECT RELEASE_LOCK(:name)", name=name)
            _quietly(
                session, "SELECT RELEASE_LOCK(:name)", name=_mark_name(name, "purpose", purpose)
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


def _postgres_keys(name: str) -> tuple[int, int]:
    return POSTGRES_LOCK_CLASS, _crc(name)


@contextmanager
def _postgres_lock(
    connection: Connection,
    name: str,
    timeout: float,
    on_wait: Callable[[str], None],
    purpose: str,
) -> Iterator[HeldLock]:
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
        own = session.execute(text("SELECT pg_backend_pid()")).scalar()
        session.execute(
            text("SELECT pg_try_advisory_lock(:a, :b)"),
            {"a": POSTGRES_MARK_CLASS, "b": _crc(_mark_name(name, "purpose", purpose))},
        )
        try:
            yield HeldLock("postgresql", name, purpose, session_id=str(own))
        finally:
            _quietly(session, "SELECT pg_advisory_unlock_all()")
    finally:
        _close(session)


def sqlite_file(connection: Connection) -> str | None:
    database = connection.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return str(Path(database).absolute())


def sqlite_lock_file(path: str) -> Path:
    digest = hashlib.sha1(path.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"migdoctor-{digest}.lock"


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
                holder = _sqlite_holder(lock_path)
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


def _sqlite_marks(lock_path: Path) -> dict[str, Any]:
    try:
        text = lock_path.read_text().strip()
    except OSError:
        return {}
    try:
        marks = json.loads(text or "{}")
    except ValueError:  # an older migdoctor wrote plain words
        return {"words": text}
    return marks if isinstance(marks, dict) else {}


def _sqlite_holder(lock_path: Path) -> str:
    marks = _sqlite_marks(lock_path)
    if "process" not in marks:
        return str(marks.get("words") or "another process")
    return f"process {marks['process']}, {marks.get('purpose') or 'a run'}"


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


# -- another run in progress, as a check sees it ------------------------------------------------


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
        {f"m{index}": _mark_name(name, kind, value) for index, (kind, value) in enumerate(marks)},
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

    first, second = _postgres_keys(name)
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
    purpose = next(
        (p for p in PURPOSES if _crc(_mark_name(name, "purpose", p)) in held_marks), None
    )
    # one transaction may hold the marks of several revisions: the last to start runs
    running = [r for r in revisions if _crc(_mark_name(name, "revision", r)) in held_marks]
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
    marks = _sqlite_marks(lock_path)
    since = marks.get("since")
    return RunInProgress(
        process=f"process {marks['process']}" if "process" in marks else None,
        purpose=marks.get("purpose"),
        seconds=int(time.time() - since) if isinstance(since, (int, float)) else None,
        revision=marks.get("revision"),
    )
