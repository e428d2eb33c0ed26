"""How many rows a table or column holds, counted before a plan that would drop it is consented to.

Each count is one ``SELECT COUNT(*)`` (``COUNT(column)`` for a column: the rows with a value in
it) on env.py's own connection, bounded so that it never waits long: PostgreSQL
``statement_timeout`` and ``lock_timeout`` for a savepoint of its own, MariaDB
``max_statement_time``, MySQL ``MAX_EXECUTION_TIME`` and ``lock_wait_timeout``, the SQLite busy
timeout. A count that gives up says so instead of a number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from migdoctor.errors import MigdoctorError, describe_exception
from migdoctor.facts.model import ProjectFacts

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.engine import Connection

COUNT_SECONDS = 5.0
# (schema, table, column or None for the whole table)
Target = tuple[str | None, str, str | None]


def count_rows(
    project: ProjectFacts, targets: tuple[Target, ...], seconds: float = COUNT_SECONDS
) -> list[int | str]:
    """For each target, its row count, or why it was not counted."""
    if not targets:
        return []
    from migdoctor.database.environment import run_environment

    counted: list[int | str] = []

    def work(context: MigrationContext, script: Any) -> list[Any]:
        connection = context.connection
        assert connection is not None
        _bound(connection, seconds)
        try:
            for target in targets:
                counted.append(_counted(connection, target, seconds))
        finally:
            _bound(connection, 0)  # the session's defaults back
        return []

    try:
        run_environment(project, work, read_only=True, action="Counting rows")
    except MigdoctorError as error:
        return [f"rows not counted: {error.message}" for _ in targets]
    return counted


def _bound(connection: Connection, seconds: float) -> None:
    """Session limits for the counts (0: the server's defaults back)."""
    from sqlalchemy import text

    dialect = connection.dialect
    try:
        if dialect.name in ("mysql", "mariadb"):
            wait = max(1, round(seconds)) if seconds else "DEFAULT"
            connection.execute(text(f"SET SESSION lock_wait_timeout = {wait}"))
            if getattr(dialect, "is_mariadb", False):
                connection.execute(text(f"SET SESSION max_statement_time = {seconds:g}"))
        elif dialect.name == "sqlite" and seconds:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
    except Exception:  # noqa: BLE001 - the counts go on; MySQL bounds each one with a hint
        pass


def _counted(connection: Connection, target: Target, seconds: float) -> int | str:
    from sqlalchemy import column, func, literal_column, select, table, text

    schema, name, column_name = target
    source = table(name, schema=schema)
    counted = func.count(column(column_name)) if column_name else func.count(literal_column("*"))
    query = select(counted).select_from(source)
    dialect = connection.dialect
    if dialect.name in ("mysql", "mariadb") and not getattr(dialect, "is_mariadb", False):
        query = query.prefix_with(f"/*+ MAX_EXECUTION_TIME({int(seconds * 1000)}) */")
    try:
        if dialect.name == "postgresql":
            # a savepoint of its own: a count that times out does not spoil the transaction
            with connection.begin_nested():
                milliseconds = int(seconds * 1000)
                connection.execute(text(f"SET LOCAL statement_timeout = {milliseconds}"))
                connection.execute(text(f"SET LOCAL lock_timeout = {milliseconds}"))
                rows = connection.execute(query).scalar()
        else:
            rows = connection.execute(query).scalar()
    except Exception as error:  # noqa: BLE001 - a count that fails says why, in the plan
        original = getattr(error, "orig", None) or error
        reason = describe_exception(original).splitlines()[0]
        return f"rows not counted: {reason[:160]}"
    return int(rows or 0)
