"""The context a revision's function is recorded in: ``alembic.op`` bound to a recorder, and SQL
that reaches the live database only as a question (see :mod:`migdoctor.operations.recorder`)."""

from __future__ import annotations

import io
import math
import re
import sys
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alembic.operations import MigrateOperation
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.engine import Dialect


class LiveSQLRefused(Exception):
    """upgrade() tried to run SQL on a real connection while being recorded."""


class Recording:
    """Recordings of ``upgrade()`` functions: the context they see and, for the one being
    recorded, what it did with it."""

    def __init__(self, dialect: Dialect, live: MigrationContext | None) -> None:
        self.dialect = dialect
        self.live = live
        # whether op.get_bind() is the live connection (the revisions that will run on it)
        self.live_bind = False
        self.recorded: list[MigrateOperation] = []
        self.consulted_database = False
        self.autocommit = False
        # the file being recorded, and for each recorded operation the line of that file that
        # called it and whether it ran inside autocommit_block()
        self.script_path: str | None = None
        self.lines: list[int | None] = []
        self.in_autocommit: list[bool] = []
        self.inside_autocommit = False
        # how long a question on a connection upgrade() opens itself may wait or run
        self.question_seconds = QUESTION_BOUND_SECONDS

    def keep(self, operation: MigrateOperation) -> None:
        """Record ``operation``, with the line of the file that called it."""
        self.recorded.append(operation)
        self.lines.append(_calling_line(self.script_path))
        self.in_autocommit.append(self.inside_autocommit)


# where an add_column operation keeps the naming convention alembic would name its index by
NAMING_CONVENTION = "migdoctor_naming_convention"


def naming_convention_key(context: Any) -> str:
    """The naming convention alembic names what operations make by, in words that stay the
    same from run to run (a token's function by its module and name)."""
    convention = _naming_convention(context)
    return repr(
        sorted(
            (
                str(key) if isinstance(key, str) else f"{key.__module__}.{key.__qualname__}",
                value
                if isinstance(value, str)
                else f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', '')}",
            )
            for key, value in convention.items()
        )
    )


def _naming_convention(context: Any) -> dict[str, Any]:
    """The naming convention of the MetaData alembic builds an operation's table in (its
    SchemaObjects: target_metadata's, when it is one MetaData; SQLAlchemy's default else)."""
    from alembic.operations.schemaobj import SchemaObjects

    return dict(SchemaObjects(context).metadata().naming_convention)


@contextmanager
def recording_operations(recording: Recording) -> Iterator[None]:
    """Bind ``alembic.op`` to a recorder for the duration, then restore what was bound."""
    from alembic import op as op_module
    from alembic.operations import Operations
    from alembic.operations.base import BatchOperations
    from alembic.operations.batch import BatchOperationsImpl
    from alembic.runtime.migration import MigrationContext

    live = recording.live
    offline = {"as_sql": True, "output_buffer": io.StringIO(), "literal_binds": True}
    if live is not None:
        # alembic's context as env.py configured it (config, opts, dialect), offline as for
        # ``alembic upgrade --sql``: a revision that checks ``as_sql`` skips its data work, and
        # operations are recorded by ``invoke`` below, never executed
        context = MigrationContext(
            live.dialect, None, {**live.opts, **offline, "fn": None}, live.environment_context
        )
        if recording.live_bind and live.connection is not None:
            # ``op.get_bind()`` answers from the live database (a guard such as
            # ``if table_exists(...)``), read-only: see live_sql_refused
            context.connection = live.connection
            context.impl.connection = live.connection
    else:
        context = MigrationContext.configure(dialect=recording.dialect, opts=offline)

    @contextmanager
    def autocommit_block() -> Iterator[None]:
        # recorded, not run: nothing may commit env.py's transaction while reading
        recording.autocommit = True
        outer = recording.inside_autocommit
        recording.inside_autocommit = True
        try:
            yield
        finally:
            recording.inside_autocommit = outer

    context.autocommit_block = autocommit_block  # type: ignore[method-assign]
    operations = Operations(context)
    # the names alembic gives what add_column adds (an index=True index) come from
    # target_metadata's naming convention when it runs: the replay names them alike
    naming_convention = _naming_convention(context)

    def record(operation: Any) -> Any:
        recording.keep(operation)
        if operation.__class__.__name__ == "AddColumnOp":
            setattr(operation, NAMING_CONVENTION, naming_convention)
        # code that keeps create_table()'s result (for bulk_insert) gets a real Table
        to_table = getattr(operation, "to_table", None)
        if operation.__class__.__name__ == "CreateTableOp" and to_table is not None:
            return to_table(context)
        return None

    @contextmanager
    def batch_alter_table(table_name: str, schema: str | None = None, **kw: Any) -> Iterator[Any]:
        impl = BatchOperationsImpl(  # type: ignore[no-untyped-call]
            operations,
            table_name,
            schema,
            kw.get("recreate", "auto"),
            None,
            (),
            {},
            (),
            {},
            None,
            None,
        )
        batch = BatchOperations(context, impl=impl)
        batch.invoke = record  # type: ignore[method-assign]
        yield batch  # no flush: nothing is executed

    operations.invoke = record  # type: ignore[method-assign]
    operations.batch_alter_table = batch_alter_table  # type: ignore[method-assign, assignment]
    previous = getattr(op_module, "_proxy", None)
    operations._install_proxy()
    try:
        yield
    finally:
        if previous is not None:
            previous._install_proxy()
        else:
            operations._remove_proxy()


def _calling_line(script_path: str | None) -> int | None:
    """The line of the revision file being recorded that made the current call."""
    if script_path is None:
        return None
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == script_path:
            return frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return None


# what a recorded upgrade() may ask the live database: questions, never changes
_QUESTION = re.compile(r"^\s*(select|show|with|describe|desc|explain|pragma)\b", re.IGNORECASE)
# what a change is replaced with while recording: a query that answers no rows, everywhere
_NOTHING = "SELECT 1 FROM (SELECT 1 AS migdoctor_row) AS migdoctor_recorded WHERE 1 = 0"
# migdoctor's own savepoint around each recording
_SAVEPOINT = re.compile(r"^\s*(savepoint|release|rollback\s+to)\b", re.IGNORECASE)


def _is_question(statement: str) -> bool:
    if not _QUESTION.match(statement):
        return False
    lowered = statement.lower()
    # SELECT ... FOR UPDATE locks; a PRAGMA with a value sets it
    return not (
        " for update" in lowered
        or " for share" in lowered
        or (lowered.lstrip().startswith("pragma") and "=" in lowered)
    )


# how long a question upgrade() asks on a connection of its own may wait for a lock or run, by
# default (the capture passes its own reads' bound, --lock-timeout when given): that session is
# not bounded as env.py's is
QUESTION_BOUND_SECONDS = 5.0


def _bound_questions(dialect: Any, cursor: Any, seconds: float) -> None:
    """Bound the session of a connection upgrade() opened itself to ``seconds`` (0: not at
    all, as --lock-timeout 0 asks), through its DBAPI cursor (SQL sent through SQLAlchemy would
    come back to the guard)."""
    if seconds <= 0:
        return
    milliseconds = max(1, math.ceil(seconds * 1000))
    if dialect.name == "postgresql":
        cursor.execute(f"SET lock_timeout = '{milliseconds}ms'")
        cursor.execute(f"SET statement_timeout = '{milliseconds}ms'")
    elif dialect.name in ("mysql", "mariadb"):
        cursor.execute(f"SET SESSION lock_wait_timeout = {max(1, math.ceil(seconds))}")
        if getattr(dialect, "is_mariadb", False):
            cursor.execute(f"SET SESSION max_statement_time = {milliseconds / 1000}")
        else:
            cursor.execute(f"SET SESSION max_execution_time = {milliseconds}")
    # SQLite: the driver's busy timeout (5 s) bounds a read behind a writer


@contextmanager
def live_sql_refused(recording: Recording) -> Iterator[None]:
    """While recording, SQL reaches a database only as a question (which marks the revision as
    consulting the database): on env.py's own connection, or, when there is one, on a
    connection upgrade() opens itself (bounded). A change sent on env.py's connection (a data
    migration through ``op.get_bind()``) is recorded as raw SQL and replaced by a query that
    answers nothing; a change on any other connection is refused, and so is any SQL when no
    database is consulted (check --offline)."""
    from alembic.operations import ops
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    live_connection = (
        recording.live.connection if recording.live is not None and recording.live_bind else None
    )

    def guard(
        connection: Any,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> tuple[str, Any]:
        text = str(statement or "")
        if live_connection is not None and connection is not live_connection:
            if not _is_question(text):
                raise LiveSQLRefused(" ".join(text.split())[:80])
            # a question on a connection of upgrade()'s own: JupyterHub's revisions ask
            # sa.inspect(op.get_bind().engine) which tables exist, and act on the answer
            if connection not in bounded_connections:
                _bound_questions(connection.dialect, cursor, recording.question_seconds)
                bounded_connections.add(connection)
            recording.consulted_database = True
            return statement, parameters
        if live_connection is None:
            raise LiveSQLRefused(" ".join(text.split())[:80])
        if _SAVEPOINT.match(text):
            return statement, parameters
        if _is_question(text):
            recording.consulted_database = True
            return statement, parameters
        if executemany:
            raise LiveSQLRefused(" ".join(text.split())[:80])
        recording.keep(ops.ExecuteSQLOp(text))
        return _NOTHING, {} if isinstance(parameters, dict) else ()

    bounded_connections: weakref.WeakSet[Any] = weakref.WeakSet()
    event.listen(Engine, "before_cursor_execute", guard, retval=True)
    try:
        yield
    finally:
        event.remove(Engine, "before_cursor_execute", guard)
