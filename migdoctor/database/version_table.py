"""SQL for changing the version table's rows: the same statements are shown and executed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from migdoctor.facts.model import DatabaseFacts
from migdoctor.repair.plan import VersionTableChange

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect


def _clause(table: str, schema: str | None) -> Any:
    from sqlalchemy import String, column
    from sqlalchemy import table as table_clause

    return table_clause(table, column("version_num", String(32)), schema=schema)


def row_statements(change: VersionTableChange) -> list[Any]:
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


def display_statements(change: VersionTableChange, dialect_name: str) -> tuple[str, ...]:
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


def change_rows(database: DatabaseFacts, rows_after: tuple[str, ...]) -> VersionTableChange:
    """The change from the rows the database holds now to ``rows_after``, with its SQL (and the
    version table's creation when there is none yet)."""
    change = VersionTableChange(
        table=database.version_table,
        schema=database.version_table_schema,
        rows_before=database.version_rows,
        rows_after=rows_after,
        statements=(),
        create_table=not database.version_table_exists,
    )
    return with_statements(change, database.dialect)


def with_statements(change: VersionTableChange, dialect_name: str) -> VersionTableChange:
    from dataclasses import replace

    return replace(change, statements=display_statements(change, dialect_name))
