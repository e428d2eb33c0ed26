"""What a revision really created: the schema's names read before and after it runs.

A fix that runs migrations (``upgrade``, and undo's downgrades) reads the tables, columns and
indexes of the default schema around each revision, on the run's own connection (inside its
transaction, so uncommitted DDL is seen). The difference is journaled, so ``migdoctor undo``
knows which tables and columns the run created and never drops one that existed before it (a
revision whose ``upgrade()`` was neutered, a table made by hand, ``create_all()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class SchemaNames:
    """Names only: ``tables``; ``columns`` as ``table.column``; ``indexes`` as ``table.index``."""

    tables: frozenset[str]
    columns: frozenset[str]
    indexes: frozenset[str]


def read_schema_names(connection: Connection, exclude: tuple[str, ...] = ()) -> SchemaNames:
    """The default schema's names (``exclude``: tables left out, such as the version table)."""
    from sqlalchemy import inspect

    inspector = inspect(connection)  # a fresh inspector: no cached reflection
    columns = inspector.get_multi_columns()
    indexes = inspector.get_multi_indexes()
    tables = {name for _, name in columns if name not in exclude}
    return SchemaNames(
        tables=frozenset(tables),
        columns=frozenset(
            f"{table}.{column['name']}"
            for (_, table), rows in columns.items()
            if table in tables
            for column in rows
        ),
        indexes=frozenset(
            f"{table}.{index['name']}"
            for (_, table), rows in indexes.items()
            if table in tables
            for index in rows
            if index.get("name")
        ),
    )


def created_between(before: SchemaNames, after: SchemaNames) -> dict[str, Any]:
    """What is in ``after`` and not in ``before``, as journaled: new tables; new columns and
    indexes of tables that existed before (a new table's own go with it)."""
    tables = after.tables - before.tables

    def of_old_tables(names: frozenset[str], earlier: frozenset[str]) -> list[str]:
        return sorted(name for name in names - earlier if name.split(".", 1)[0] not in tables)

    return {
        "tables": sorted(tables),
        "columns": of_old_tables(after.columns, before.columns),
        "indexes": of_old_tables(after.indexes, before.indexes),
    }
