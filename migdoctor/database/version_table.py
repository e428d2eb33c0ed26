"""The version table: reading its rows, the SQL that changes them (the same statements are shown
in a plan and executed), and the locked write that makes a change, checking first that the rows
are still the ones the plan saw."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from migdoctor.database.bounds import limit_lock_waits, read_timeout
from migdoctor.database.environment import run_environment
from migdoctor.database.locking import begin_immediate, migration_lock
from migdoctor.errors import MigdoctorError
from migdoctor.facts.model import ProjectFacts
from migdoctor.redact import remember_url_password

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.engine import Connection, Dialect


class RowsChange(Protocol):
    """A change of the version table's rows, as a plan describes it (``repair.plan``'s
    ``VersionTableChange``)."""

    @property
    def table(self) -> str: ...
    @property
    def schema(self) -> str | None: ...
    @property
    def rows_before(self) -> tuple[str, ...]: ...
    @property
    def rows_after(self) -> tuple[str, ...]: ...
    @property
    def create_table(self) -> bool: ...
    @property
    def drop_table(self) -> bool: ...


def read_version_rows(
    connection: Connection, version_table: str, schema: str | None
) -> tuple[str, ...]:
    """The raw ids in the version table, whatever they are."""
    from sqlalchemy import column, select, table

    version = table(version_table, column("version_num"), schema=schema)
    result = connection.execute(select(version.c.version_num))
    return tuple(str(row[0]) for row in result)


@dataclass(frozen=True)
class VersionState:
    """The version table as ``alembic current`` reads it: the URL (password hidden) and rows."""

    url: str
    rows: tuple[str, ...]


def read_version_state(project: ProjectFacts) -> VersionState:
    """Run env.py and read only the version table: no reflection, no recording."""
    states: list[VersionState] = []

    def read(context: MigrationContext, script: Any) -> list[Any]:
        from sqlalchemy import inspect

        connection = context.connection
        assert connection is not None  # run_environment refuses offline mode
        remember_url_password(connection.engine.url)
        table, schema = context.version_table, context.version_table_schema
        exists = inspect(connection).has_table(table, schema=schema)
        rows = read_version_rows(connection, table, schema) if exists else ()
        states.append(
            VersionState(connection.engine.url.render_as_string(hide_password=True), rows)
        )
        return []

    run_environment(
        project,
        read,
        read_only=True,
        action="Reading the version table",
        read_timeout=read_timeout(project.config.options),
    )
    return states[0]


# -- changing the rows -----------------------------------------------------------------------------


def _clause(table: str, schema: str | None) -> Any:
    from sqlalchemy import String, column
    from sqlalchemy import table as table_clause

    return table_clause(table, column("version_num", String(32)), schema=schema)


def row_statements(change: RowsChange) -> list[Any]:
    """UPDATE when one id replaces another, else a DELETE per removed and an INSERT per added
    row; every statement names the row it expects, so a concurrent change cannot be overwritten
    silently."""
    version = _clause(change.table, change.schema)
    removed = [row for row in change.rows_before if row not in change.rows_after]
    added = [row for row in change.rows_after if row not in change.rows_before]
    if len(removed) == 1 and len(added) == 1:
        return [
            version.update().where(version.c.version_num == removed[0]).values(version_num=added[0])
        ]
    statements: list[Any] = [
        version.delete().where(version.c.version_num == row) for row in removed
    ]
    statements += [version.insert().values(version_num=row) for row in added]
    return statements


def version_table_definition(table: str, schema: str | None, dialect: Dialect) -> Any:
    """alembic's own definition of the version table (name, column, primary key), for showing
    the DDL in a plan; applying uses the live migration context's definition."""
    from alembic.ddl.impl import DefaultImpl

    impl_class = DefaultImpl.get_by_dialect(dialect)
    # the default definition reads nothing from the implementation instance
    return impl_class.version_table_impl(
        None,  # type: ignore[arg-type]
        version_table=table,
        version_table_schema=schema,
        version_table_pk=True,
    )


def display_statements(change: RowsChange, dialect_name: str) -> tuple[str, ...]:
    """The statements as the database will receive them, with values inlined for reading."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.schema import CreateTable, DropTable

    dialect = make_url(f"{dialect_name}://").get_dialect()()
    shown: list[str] = []
    if change.create_table:
        definition = version_table_definition(change.table, change.schema, dialect)
        shown.append(str(CreateTable(definition).compile(dialect=dialect)).strip())
    for statement in row_statements(change):
        compiled = statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        shown.append(" ".join(str(compiled).split()))
    if change.drop_table:
        definition = version_table_definition(change.table, change.schema, dialect)
        shown.append(str(DropTable(definition).compile(dialect=dialect)).strip())
    return tuple(shown)


def change_rows_locked(
    project: ProjectFacts,
    change: RowsChange,
    lock_timeout: float,
    action: str,
    prepare: Callable[[MigrationContext], Callable[[], None]] | None = None,
    record: Callable[[Connection, str | None], None] | None = None,
) -> tuple[str, ...]:
    """Under the migration lock, check the version table still holds ``change.rows_before``,
    then, in one transaction, run what ``prepare`` returned (if anything) and move the rows.
    ``prepare`` runs first, under the lock but outside the transaction; ``record`` (the
    ledger) last, in the transaction, with the version table's schema. Returns the rows now."""
    from migdoctor.database.environment import run_environment

    rows_now: list[str] = []

    def work(context: MigrationContext, script: Any) -> list[Any]:
        from sqlalchemy import inspect

        connection = context.connection
        assert connection is not None
        if context.version_table != change.table:
            raise MigdoctorError(
                f"env.py now names the version table {context.version_table}, "
                f"not {change.table}: nothing was changed."
            )
        schema = context.version_table_schema
        held.enter_context(migration_lock(connection, change.table, schema, lock_timeout))
        # a lock on the version table must not hang the fix: it gives up as an upgrade does
        limit_lock_waits(connection, lock_timeout)
        run_first = prepare(context) if prepare is not None else None
        with context.begin_transaction(_per_migration=True):
            begin_immediate(connection, lock_timeout)
            exists = inspect(connection).has_table(change.table, schema=schema)
            rows = read_version_rows(connection, change.table, schema) if exists else ()
            if sorted(rows) != sorted(change.rows_before) or (
                not exists and not change.create_table
            ):
                raise MigdoctorError(
                    "The version table changed since the plan was made "
                    f"(now: {', '.join(rows) or 'empty'}); nothing was changed. Run it again."
                )
            if run_first is not None:
                run_first()
            if change.create_table and not exists:
                context._version.create(connection)
            for statement in row_statements(change):
                result = connection.execute(statement)
                if getattr(result, "rowcount", 1) not in (1, -1):
                    raise MigdoctorError("The version table changed during the fix; rolled back.")
            if change.drop_table:
                context._version.drop(connection)
                rows_now.clear()
            else:
                rows_now[:] = read_version_rows(connection, change.table, schema)
            if record is not None:
                record(connection, schema)
        return []

    with ExitStack() as held:
        # the lock is released only after env.py has committed
        run_environment(project, work, read_only=True, action=action)
    return tuple(rows_now)
