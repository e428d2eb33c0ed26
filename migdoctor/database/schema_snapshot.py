"""The whole schema at one moment, for the round trip: every table of the default schema with
its columns (type, nullability), primary key, indexes, unique, foreign-key and check
constraints, and on PostgreSQL its enum types and sequences, frozen into
:class:`~migdoctor.facts.roundtrip.SchemaSnapshot`.

Read on the run's own connection (inside its transaction, so uncommitted DDL is seen), with a
fresh inspector each time: SQLAlchemy's inspector caches what it read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from migdoctor.database.drift import type_words
from migdoctor.facts.roundtrip import (
    CHECK,
    COLUMN,
    ENUM,
    FOREIGN_KEY,
    INDEX,
    PRIMARY_KEY,
    SEQUENCE,
    TABLE,
    UNIQUE,
    SchemaObject,
    SchemaSnapshot,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Inspector


def read_schema_snapshot(connection: Connection, exclude: tuple[str, ...] = ()) -> SchemaSnapshot:
    """The default schema's tables and all they hold (``exclude``: tables left out, such as
    the version table)."""
    from sqlalchemy import inspect

    inspector = inspect(connection)
    names = [name for name in inspector.get_table_names() if name not in exclude]
    objects: set[SchemaObject] = set()
    for table in names:
        objects.add(SchemaObject(TABLE, table))
        objects.update(_table_objects(inspector, table))
    if connection.dialect.name == "postgresql":
        # dropping a table leaves its enum types and explicit sequences behind
        for enum in inspector.get_enums():  # type: ignore[attr-defined]
            labels = ", ".join(repr(label) for label in enum.get("labels", ()))
            objects.add(SchemaObject(ENUM, "", str(enum["name"]), f"({labels})"))
        owners = _sequence_owners(connection)
        for sequence in inspector.get_sequence_names():
            owner = owners.get(sequence)
            if owner is not None and owner[0] in exclude:
                continue  # an excluded table's own sequence goes with it
            objects.add(
                SchemaObject(SEQUENCE, "", f"of {owner[0]}.{owner[1]}" if owner else sequence)
            )
    return SchemaSnapshot(frozenset(objects))


def _sequence_owners(connection: Connection) -> dict[str, tuple[str, str]]:
    """The sequences a column owns (serial, identity), with that (table, column): they are named
    ``of table.column``, as their own name follows the table's name when it was created and
    stays through a rename, so a schema built again names them differently while it is the
    same."""
    from sqlalchemy import text

    rows = connection.execute(
        text(
            "SELECT s.relname, t.relname, a.attname FROM pg_class s "
            "JOIN pg_namespace n ON n.oid = s.relnamespace "
            "JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass "
            "AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') "
            "JOIN pg_class t ON t.oid = d.refobjid "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
            "WHERE s.relkind = 'S' AND n.nspname = current_schema()"
        )
    )
    return {str(sequence): (str(table), str(column)) for sequence, table, column in rows}


def _table_objects(inspector: Inspector, table: str) -> Iterator[SchemaObject]:
    for column in inspector.get_columns(table):
        nullable = "NULL" if column.get("nullable", True) else "NOT NULL"
        yield SchemaObject(
            COLUMN, table, column["name"], f"{type_words(column['type'])} {nullable}"
        )
    primary_key = inspector.get_pk_constraint(table)
    if primary_key and primary_key.get("constrained_columns"):
        yield SchemaObject(PRIMARY_KEY, table, "", _columns(primary_key["constrained_columns"]))
    for index in inspector.get_indexes(table):
        columns = _columns(
            [c for c in index.get("column_names") or () if c] or index.get("expressions") or ()
        )
        unique = "unique " if index.get("unique") else ""
        name = str(index.get("name") or columns)
        # MySQL and MariaDB back a unique constraint with an index of its name
        yield SchemaObject(INDEX, table, name, f"{unique}{columns}".strip())
    for unique_constraint in _optional(inspector.get_unique_constraints, table):
        columns = _columns(unique_constraint.get("column_names") or ())
        yield SchemaObject(UNIQUE, table, str(unique_constraint.get("name") or columns), columns)
    for foreign_key in _optional(inspector.get_foreign_keys, table):
        columns = _columns(foreign_key.get("constrained_columns") or ())
        referred = (
            f"{foreign_key.get('referred_table')}"
            f"{_columns(foreign_key.get('referred_columns') or ())}"
        )
        name = str(foreign_key.get("name") or columns)
        yield SchemaObject(FOREIGN_KEY, table, name, f"{columns} → {referred}")
    for check in _optional(inspector.get_check_constraints, table):
        text = " ".join(str(check.get("sqltext", "")).split())
        yield SchemaObject(CHECK, table, str(check.get("name") or f"({text})"), f"({text})")


def _optional(read: Callable[[str], list[Any]], table: str) -> list[Any]:
    """A kind of constraint the dialect may not reflect (NotImplementedError): none."""
    try:
        return list(read(table))
    except NotImplementedError:
        return []


def _columns(names: Any) -> str:
    return f"({', '.join(str(name) for name in names)})"
