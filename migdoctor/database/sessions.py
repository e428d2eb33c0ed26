"""Other sessions of the database: who holds locks or open transactions on given tables.

PostgreSQL says exactly which backend holds which lock (``pg_locks``). MySQL says it through
``performance_schema.metadata_locks`` when performance_schema is on; MariaDB's default build
keeps it off, and then the sessions using the same database with an open transaction
(``information_schema.INNODB_TRX``) are the candidates: an open transaction is what holds a
metadata lock. ``SessionInfo.evidence``
says which of the two a report rests on.

All queries read catalog views only: they never wait on a lock themselves (and run on sessions
bounded by ``database.bounds`` all the same). SQLite keeps no list of its connections: whether
another one holds its write lock is tried, without waiting, and who it is cannot be said.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from migdoctor.facts.sessions import OPEN_TRANSACTION, SQLITE_WRITE_LOCK, SessionInfo

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def own_session_id(connection: Connection) -> str | None:
    from sqlalchemy import text

    dialect = connection.dialect.name
    if dialect in ("mysql", "mariadb"):
        return str(connection.execute(text("SELECT CONNECTION_ID()")).scalar())
    if dialect == "postgresql":
        return str(connection.execute(text("SELECT pg_backend_pid()")).scalar())
    return None


def sessions_on_tables(
    connection: Connection,
    tables: Iterable[tuple[str | None, str]] | None,
    exclude: Sequence[str] = (),
) -> tuple[SessionInfo, ...]:
    """Sessions other than ours (and ``exclude``) holding locks or open transactions on
    ``tables`` ((schema, name); None for the default schema; ``tables`` None: any table)."""
    # pending revisions may name some tables by schema and others not (Netflix/dispatch)
    wanted = (
        None
        if tables is None
        else sorted(
            {(schema, name) for schema, name in tables},
            key=lambda table: (table[0] is not None, table[0] or "", table[1]),
        )
    )
    if wanted == []:
        return ()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        return _postgres_table_lockers(connection, wanted, exclude)
    if dialect in ("mysql", "mariadb"):
        return _mysql_table_lockers(connection, wanted, exclude)
    return ()


def _postgres_table_lockers(
    connection: Connection, tables: list[tuple[str | None, str]] | None, exclude: Sequence[str]
) -> tuple[SessionInfo, ...]:
    from sqlalchemy import text

    rows = connection.execute(
        text(
            "SELECT DISTINCT l.pid, n.nspname, c.relname, "
            "n.nspname = ANY(current_schemas(false)) FROM pg_locks l "
            "JOIN pg_class c ON c.oid = l.relation "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE l.granted AND l.pid <> pg_backend_pid() AND c.relkind IN ('r', 'p') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        )
    ).all()
    wanted = None if tables is None else set(tables)
    tables_by_pid: dict[str, list[str]] = {}
    for pid, schema, name, on_search_path in rows:
        named = (
            wanted is None
            or (schema, name) in wanted
            or ((None, name) in wanted and on_search_path)
        )
        if named and str(pid) not in exclude:
            tables_by_pid.setdefault(str(pid), []).append(name)
    return tuple(
        replace(found, tables=tuple(sorted(set(tables_by_pid[found.session_id]))))
        for found in postgres_sessions(connection, list(tables_by_pid))
    )


def _mysql_table_lockers(
    connection: Connection, tables: list[tuple[str | None, str]] | None, exclude: Sequence[str]
) -> tuple[SessionInfo, ...]:
    from sqlalchemy import text

    own = own_session_id(connection)
    skip = {own, *exclude}
    if _performance_schema_on(connection):
        rows = connection.execute(
            text(
                "SELECT DISTINCT t.PROCESSLIST_ID, m.OBJECT_NAME "
                "FROM performance_schema.metadata_locks m "
                "JOIN performance_schema.threads t ON t.THREAD_ID = m.OWNER_THREAD_ID "
                "WHERE m.OBJECT_TYPE = 'TABLE' AND m.LOCK_STATUS = 'GRANTED' "
                "AND m.OBJECT_SCHEMA = COALESCE(:schema, DATABASE())"
            ),
            {"schema": tables[0][0] if tables else None},
        ).all()
        names = None if tables is None else {name for _, name in tables}
        rows = [row for row in rows if names is None or row[1] in names]
        tables_by_id: dict[str, list[str]] = {}
        for session_id, name in rows:
            if session_id is not None and str(session_id) not in skip:
                tables_by_id.setdefault(str(session_id), []).append(name)
        return tuple(
            replace(found, tables=tuple(sorted(set(tables_by_id[found.session_id]))))
            for found in mysql_sessions(connection, list(tables_by_id))
        )
    # transactions of sessions using this database: on a shared server, the others' are not
    # ours to report
    schema = tables[0][0] if tables else None
    ids = [
        str(row[0])
        for row in connection.execute(
            text(
                "SELECT t.trx_mysql_thread_id FROM information_schema.INNODB_TRX t "
                "JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id "
                "WHERE p.DB = COALESCE(:schema, DATABASE())"
            ),
            {"schema": schema},
        ).all()
        if row[0] is not None and str(row[0]) not in skip
    ]
    return tuple(
        replace(found, evidence=OPEN_TRANSACTION) for found in mysql_sessions(connection, ids)
    )


def _performance_schema_on(connection: Connection) -> bool:
    from sqlalchemy import text

    try:
        return bool(connection.execute(text("SELECT @@performance_schema")).scalar())
    except Exception:  # noqa: BLE001 - a server without the variable has no performance_schema
        return False


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


@dataclass(frozen=True)
class Obstacle:
    """A session in the way of a read: it holds a lock on ``table``, or waits for one there
    (a waiting ALTER makes every later reader of the table queue behind it)."""

    session: SessionInfo
    table: str
    waiting: bool = False
    kind: str = "table"  # or "index", "sequence", "view"

    def describe(self) -> str:
        head, _, rest = self.session.describe().partition(", ")
        who = f"{head} ({rest})" if rest else head
        what = f"{self.kind} {self.table}"
        if self.waiting:
            return f"{what}: {who} waits for a lock on it, and reads queue behind it"
        if self.session.evidence == OPEN_TRANSACTION:
            return f"{what}: {who} has an open transaction"
        return f"{what}: {who} holds a lock on it"


def sessions_in_the_way(
    connection: Connection, table: str | None, exclude: Sequence[str] = ()
) -> tuple[Obstacle, ...]:
    """The sessions that make a read wait: on ``table`` when it is known (the version table),
    else on any table of the database. Read from catalog views on a session of its own."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        return _postgres_obstacles(connection, table, exclude)
    if dialect in ("mysql", "mariadb"):
        return _mysql_obstacles(connection, table, exclude)
    return ()


def _postgres_obstacles(
    connection: Connection, table: str | None, exclude: Sequence[str]
) -> tuple[Obstacle, ...]:
    """Only ACCESS EXCLUSIVE conflicts with a reader's ACCESS SHARE: the sessions holding it, or
    waiting for it (then also the sessions they wait for)."""
    from sqlalchemy import text

    rows = connection.execute(
        text(
            "SELECT l.pid, CASE WHEN n.nspname = ANY(current_schemas(false)) THEN c.relname "
            "ELSE n.nspname || '.' || c.relname END, l.granted, "
            "CASE WHEN l.granted THEN '{}'::int[] ELSE pg_blocking_pids(l.pid) END, c.relkind "
            "FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.pid <> pg_backend_pid() AND l.mode = 'AccessExclusiveLock' "
            "AND c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f', 'i', 'I') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "ORDER BY l.granted DESC, l.pid"
        )
    ).all()
    if table is not None and any(_same_table(row[1], table) for row in rows):
        rows = [row for row in rows if _same_table(row[1], table)]
    found: dict[tuple[str, str], bool] = {}
    kinds: dict[str, str] = {}
    for pid, name, granted, blocked_by, relkind in rows:
        kinds[name] = _POSTGRES_KINDS.get(str(relkind), "table")
        found.setdefault((str(pid), name), not granted)
        for holder in blocked_by or ():
            found.setdefault((str(holder), name), False)
    wanted = {key: waiting for key, waiting in found.items() if key[0] not in exclude}
    sessions = {s.session_id: s for s in postgres_sessions(connection, [p for p, _ in wanted])}
    return tuple(
        Obstacle(sessions[pid], name, waiting, kinds[name])
        for (pid, name), waiting in sorted(wanted.items(), key=lambda item: item[1])
        if pid in sessions
    )


_POSTGRES_KINDS = {"i": "index", "I": "index", "S": "sequence", "v": "view", "m": "view"}


def _same_table(qualified: str, name: str) -> bool:
    return qualified == name or qualified.rpartition(".")[2] == name


def _mysql_obstacles(
    connection: Connection, table: str | None, exclude: Sequence[str]
) -> tuple[Obstacle, ...]:
    """The sessions waiting for a table lock in this database (an ALTER queued behind a
    transaction), and those holding one: exactly with performance_schema, else the sessions
    with an open transaction (which is what holds a metadata lock, or a LOCK TABLES)."""
    from sqlalchemy import text

    own = own_session_id(connection)
    skip = {own, *exclude}
    database = connection.execute(text("SELECT DATABASE()")).scalar()
    in_use = sorted(
        str(row[1])
        for row in connection.execute(text("SHOW OPEN TABLES WHERE In_use > 0")).all()
        if row[0] == database
    )
    if table is not None and (not in_use or table in in_use):
        named = table
    else:
        named = ", ".join(in_use) or "?"
    waiting_ids = [
        str(row[0])
        for row in connection.execute(
            text(
                "SELECT ID FROM information_schema.PROCESSLIST "
                "WHERE DB = DATABASE() AND STATE LIKE 'Waiting for%lock%'"
            )
        ).all()
        if str(row[0]) not in skip
    ]
    waiting = tuple(Obstacle(s, named, True) for s in mysql_sessions(connection, waiting_ids))
    tables: list[tuple[str | None, str]] | None = None if table is None else [(None, table)]
    holding = tuple(
        Obstacle(s, ", ".join(s.tables) or named)
        for s in _mysql_table_lockers(connection, tables, [*exclude, *waiting_ids])
    )
    return holding + waiting


def sqlite_write_lock(connection: Connection) -> tuple[SessionInfo, ...]:
    """Another connection holding SQLite's write lock (an open transaction that wrote, or a
    ``BEGIN IMMEDIATE``/``EXCLUSIVE``), which any DDL of an upgrade waits for. Tried on a
    connection of its own with ``BEGIN IMMEDIATE`` and no wait, rolled back at once (nothing is
    written); SQLite cannot say which process holds it."""
    from sqlalchemy.exc import OperationalError

    from migdoctor.database.sqlite_files import sqlite_file

    path = sqlite_file(connection)
    if path is None:  # in memory: no other connection sees this database
        return ()
    with connection.engine.connect() as probe:
        busy_ms = probe.exec_driver_sql("PRAGMA busy_timeout").scalar()
        probe.exec_driver_sql("PRAGMA busy_timeout = 0")
        try:
            probe.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError as error:
            if "locked" not in str(error.orig):
                raise
            return (SessionInfo(session_id="?", client=path, evidence=SQLITE_WRITE_LOCK),)
        else:
            probe.exec_driver_sql("ROLLBACK")
        finally:  # the connection may go back to a pool
            probe.exec_driver_sql(f"PRAGMA busy_timeout = {int(busy_ms or 0)}")
    return ()
