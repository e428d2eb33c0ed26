"""Every read migdoctor makes waits a bounded time: a lock in the way becomes an error naming
the table and the session holding it, never a hang.

The limits, set on the session for the reads and restored afterwards (env.py's connection may
come from a pool the application or a later writer reuses):

- PostgreSQL: ``lock_timeout`` and ``statement_timeout``;
- MySQL/MariaDB: ``lock_wait_timeout`` (metadata locks) and ``innodb_lock_wait_timeout`` (row
  locks), and ``max_statement_time`` (MariaDB, seconds) or ``max_execution_time`` (MySQL, ms);
- SQLite: the busy timeout (the driver's own default is 5 s).

``READ_TIMEOUT_SECONDS`` by default; ``--lock-timeout SECONDS`` replaces it; 0 waits for ever.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, TypeVar

from migdoctor.errors import MigdoctorError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from migdoctor.database.sessions import Obstacle
    from migdoctor.project.config import ConfigOptions

READ_TIMEOUT_SECONDS = 5.0
SQLITE_FOREVER_MS = 2**31 - 1
# PostgreSQL lock_not_available (lock_timeout) and query_canceled (statement_timeout)
POSTGRES_GAVE_UP = ("55P03", "57014")
# lock wait timeout, MariaDB max_statement_time, MySQL max_execution_time
MYSQL_GAVE_UP = (1205, 1969, 3024)
_LIMIT_KEY = "migdoctor_read_timeout"
T = TypeVar("T")


class ReadGaveUp(MigdoctorError):
    """A read waited for a lock (or ran) longer than the limit: the message names what was
    being read, the table and the session in the way."""

    def __init__(self, message: str, hint: str, obstacles: tuple[Obstacle, ...]) -> None:
        super().__init__(message, hint=hint)
        self.obstacles = obstacles


def read_bounded(engine: Engine, seconds: float, read: Callable[[Connection], T]) -> T:
    """``read`` on a session of its own, bounded by ``seconds`` (also after env.py returned,
    for an async engine: see :mod:`migdoctor.database.async_engines`)."""
    from migdoctor.database.async_engines import on_engine

    def on_own_session() -> T:
        with engine.connect() as session, bounded(session, seconds):
            return read(session)

    return on_engine(engine, on_own_session)


def read_timeout(options: ConfigOptions) -> float:
    """How long one read may wait: ``--lock-timeout`` when given, else a few seconds."""
    return READ_TIMEOUT_SECONDS if options.lock_timeout is None else options.lock_timeout


def sqlite_busy_ms(seconds: float) -> int:
    """SQLite's busy timeout for ``seconds`` (0: for ever)."""
    return SQLITE_FOREVER_MS if seconds <= 0 else max(1, math.ceil(seconds * 1000))


@contextmanager
def bounded(connection: Connection, seconds: float) -> Iterator[None]:
    """Bound every statement on ``connection`` to ``seconds`` for the duration, then restore
    the session's own settings."""
    restore = _apply(connection, seconds)
    connection.info[_LIMIT_KEY] = seconds
    try:
        yield
    finally:
        _restore(lambda: connection.info.pop(_LIMIT_KEY, None))
        _restore(restore)


@contextmanager
def bounded_session(connection: Connection) -> Iterator[Connection]:
    """Another session to the same database, for reading, bounded as ``connection`` is."""
    seconds = connection.info.get(_LIMIT_KEY, READ_TIMEOUT_SECONDS)
    with connection.engine.connect() as session, bounded(session, seconds):
        yield session


def _restore(restore: Callable[[], object]) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    # PostgreSQL: a read that gave up aborted the transaction, whose rollback takes the
    # settings back with it; a connection an interrupt left to be rolled back (Ctrl-C during a
    # statement) refuses any statement, and putting settings back must not hide that interrupt
    with suppress(SQLAlchemyError):
        restore()


def _apply(connection: Connection, seconds: float) -> Callable[[], None]:
    """Set the limits; return what puts the session's previous settings back."""
    from sqlalchemy import text

    dialect = connection.dialect.name
    if dialect == "sqlite":
        previous = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {sqlite_busy_ms(seconds)}")

        def restore_busy_timeout() -> None:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(previous or 0)}")

        return restore_busy_timeout
    if seconds <= 0:
        return lambda: None
    if dialect == "postgresql":
        names = ("lock_timeout", "statement_timeout")
        before = connection.execute(
            text("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")
        ).one()
        _set_postgres(connection, dict.fromkeys(names, f"{math.ceil(seconds * 1000)}ms"))
        return lambda: _set_postgres(connection, dict(zip(names, before, strict=True)))
    if dialect in ("mysql", "mariadb"):
        return _apply_mysql(connection, seconds)
    return lambda: None


def _set_postgres(connection: Connection, settings: dict[str, str]) -> None:
    from sqlalchemy import text

    for name, value in settings.items():
        connection.execute(
            text("SELECT set_config(:name, :value, false)"), {"name": name, "value": value}
        )


def _apply_mysql(connection: Connection, seconds: float) -> Callable[[], None]:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    whole = max(1, math.ceil(seconds))  # both lock waits are whole seconds, at least 1
    limits: dict[str, Any] = {"lock_wait_timeout": whole, "innodb_lock_wait_timeout": whole}
    if getattr(connection.dialect, "is_mariadb", False):
        statement = ("max_statement_time", seconds)
    else:
        statement = ("max_execution_time", math.ceil(seconds * 1000))
    names = list(limits)
    selected = ", ".join(f"@@SESSION.{name}" for name in names)
    before = list(connection.execute(text(f"SELECT {selected}")).one())
    try:
        # older servers lack the statement limit; the lock waits are bounded all the same
        before.append(connection.execute(text(f"SELECT @@SESSION.{statement[0]}")).scalar())
        names.append(statement[0])
        limits[statement[0]] = statement[1]
    except DBAPIError:
        pass
    _set_mysql(connection, limits)
    return lambda: _set_mysql(connection, dict(zip(names, before, strict=True)))


def _set_mysql(connection: Connection, settings: dict[str, Any]) -> None:
    from sqlalchemy import text

    assignments = ", ".join(
        f"SESSION {name} = {_number(value)}" for name, value in settings.items()
    )
    connection.execute(text(f"SET {assignments}"))


def _number(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def gave_up_waiting(error: BaseException | None) -> bool:
    """Whether the driver's error says a statement gave up waiting (or running) on a limit."""
    original = getattr(error, "orig", None) or error
    if original is None:
        return False
    if getattr(original, "sqlstate", None) in POSTGRES_GAVE_UP:
        return True
    if getattr(original, "pgcode", None) in POSTGRES_GAVE_UP:
        return True
    arguments: tuple[Any, ...] = tuple(getattr(original, "args", ()))
    if arguments and arguments[0] in MYSQL_GAVE_UP:
        return True
    return type(original).__name__ == "OperationalError" and "is locked" in str(original)


class ReadBounds:
    """The limits of one run of env.py that only reads: set as soon as env.py hands its
    connection to alembic (alembic itself reads the version table before any work), restored
    before env.py closes it. A read that gives up becomes ``ReadGaveUp``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.engine: Engine | None = None
        self.version_table: str | None = None
        self.own_session: str | None = None

    def install(self, environment: Any) -> None:
        run_migrations = environment.run_migrations

        def bounded_run(**kw: Any) -> None:
            context = environment.get_context()
            connection = context.connection
            if connection is None or context.as_sql:
                run_migrations(**kw)
                return
            from migdoctor.database.sessions import own_session_id

            self.engine = connection.engine
            self.version_table = context.version_table
            self.own_session = own_session_id(connection)
            with bounded(connection, self.seconds):
                run_migrations(**kw)

        environment.run_migrations = bounded_run

    def gave_up(self, error: BaseException) -> ReadGaveUp | None:
        """The error to show when ``error`` is a read giving up; None for any other error."""
        if self.engine is None or not gave_up_waiting(error):
            return None
        statement = str(getattr(error, "statement", None) or "")
        exclude = [self.own_session] if self.own_session else []
        table = self.version_table
        if table and re.search(rf"\b{re.escape(table)}\b", statement):
            what = f"the version table {table}"
            return gave_up(self.engine, self.seconds, what, table, exclude)
        return gave_up(self.engine, self.seconds, "the schema", None, exclude)


def gave_up(
    engine: Engine, seconds: float, what: str, table: str | None, exclude: list[str]
) -> ReadGaveUp:
    """``ReadGaveUp`` for a read of ``what`` (``table`` when known), naming the sessions in
    the way as read now on a session of its own, itself bounded."""
    from sqlalchemy.exc import DBAPIError

    from migdoctor.database.failures import first_line
    from migdoctor.database.sessions import sessions_in_the_way
    from migdoctor.facts.sessions import OPEN_TRANSACTION

    dialect = engine.dialect.name
    waited = f"Gave up reading {what} after {seconds:g}s"
    longer = "--lock-timeout SECONDS waits longer."
    if dialect == "sqlite":
        where = engine.url.database or "the database"
        return ReadGaveUp(
            f"{waited}: another connection holds SQLite's lock on {where} (SQLite cannot say "
            "which process). Nothing was changed.",
            hint=f"Let that program finish its transaction, then run again. {longer}",
            obstacles=(),
        )
    try:
        obstacles = read_bounded(
            engine,
            seconds or READ_TIMEOUT_SECONDS,
            lambda session: sessions_in_the_way(session, table, exclude),
        )
    except DBAPIError as error:
        reason = first_line(error.orig) if error.orig else first_line(error)
        return ReadGaveUp(
            f"{waited}: a lock is in the way{f' on table {table}' if table else ''}; the "
            f"sessions holding it could not be read ({reason}). Nothing was changed.",
            hint=longer,
            obstacles=(),
        )
    if not obstacles:
        return ReadGaveUp(
            f"{waited}: no other session holds a lock in the way any more; the read itself took "
            "that long, or the lock was just released. Nothing was changed.",
            hint=f"Run again. {longer}",
            obstacles=(),
        )
    words = "; ".join(obstacle.describe() for obstacle in obstacles)
    if any(obstacle.session.evidence == OPEN_TRANSACTION for obstacle in obstacles):
        words += (
            " (performance_schema is off: which of the sessions with an open transaction holds "
            "the lock cannot be told)"
        )
    to_end = [o for o in obstacles if not o.waiting] or list(obstacles)
    ending = " or ".join(dict.fromkeys(o.session.ending_statement(dialect) for o in to_end))
    return ReadGaveUp(
        f"{waited}: {words}. Nothing was changed.",
        hint=(
            "Wait for that session to finish, or end it (dangerous: its transaction is rolled "
            f"back): {ending}. {longer}"
        ),
        obstacles=obstacles,
    )


def limit_statement_time(connection: Any, seconds: float | None) -> str | None:
    """Make each statement of this session give up after running ``seconds`` (None or 0: no
    limit): PostgreSQL ``statement_timeout``, MariaDB ``max_statement_time``, MySQL
    ``max_execution_time`` (which bounds only SELECT statements). A note when the database
    cannot bound them (SQLite), else None."""
    from sqlalchemy import text

    if not seconds or seconds <= 0:
        return None
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text(f"SET statement_timeout = '{math.ceil(seconds * 1000)}ms'"))
    elif getattr(connection.dialect, "is_mariadb", False):
        connection.execute(text(f"SET SESSION max_statement_time = {seconds:g}"))
    elif dialect in ("mysql", "mariadb"):
        connection.execute(text(f"SET SESSION max_execution_time = {math.ceil(seconds * 1000)}"))
        return "MySQL bounds only SELECT statements (max_execution_time): DDL is not bounded."
    else:
        return f"{dialect} cannot bound a statement's time: --statement-timeout is ignored."
    return None


def limit_lock_waits(connection: Any, seconds: float) -> None:
    """Make a statement give up after ``seconds`` waiting for a lock (0: wait for ever); on
    SQLite the busy timeout, which replaces the driver's own 5 s."""
    from sqlalchemy import text

    from migdoctor.database.bounds import sqlite_busy_ms

    dialect = connection.dialect.name
    if dialect == "sqlite":
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {sqlite_busy_ms(seconds)}")
        return
    if seconds <= 0:
        return
    whole = max(1, round(seconds))
    if dialect in ("mysql", "mariadb"):
        connection.execute(text(f"SET SESSION lock_wait_timeout = {whole}"))
        connection.execute(text(f"SET SESSION innodb_lock_wait_timeout = {whole}"))
    elif dialect == "postgresql":
        connection.execute(text(f"SET lock_timeout = '{int(seconds * 1000)}ms'"))
