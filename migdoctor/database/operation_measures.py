"""Measure the live tables that pending operations touch, once, on env.py's connection.

Only what a pending operation needs is read: each named table's size (the catalog's estimate:
PostgreSQL ``pg_class.reltuples`` and ``pg_total_relation_size``, MySQL/MariaDB
``information_schema.TABLES``; where the catalog has none, a count that stops at
``COUNT_LIMIT``), the NULLs of a column an ``alter_column(nullable=False)`` names, the
duplicated values under a new unique index or constraint. Each read is bounded like every other
(the connection is: see ``database/bounds.py``) and, on PostgreSQL, runs in a savepoint of its
own: a read that gives up becomes a note, never a spoiled transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from migdoctor.errors import describe_exception
from migdoctor.facts.model import TableFact
from migdoctor.facts.operations import RevisionOperations
from migdoctor.facts.table_measures import (
    COUNT_LIMIT,
    DUPLICATE_EXAMPLES,
    ColumnNulls,
    DuplicateValues,
    TableMeasures,
    TableSize,
    TypeCast,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

T = TypeVar("T")
UNIQUE_KINDS = ("create_index", "create_unique_constraint")


def measure_operation_tables(
    connection: Connection,
    pending: Iterable[RevisionOperations],
    live_table: Callable[[str, str | None], TableFact | None],
    case_insensitive: bool,
    locked: Collection[str] = (),
) -> TableMeasures:
    """The measures the pending operations need; ``live_table(name, schema)`` finds a live
    table as the database matches names (None: not there, nothing to measure). ``locked``:
    tables another session holds a lock on (lock-contention names it): reading them would
    only wait, so they are not measured."""
    held = {name.lower() for name in locked}
    sizes: dict[tuple[str | None, str], TableSize] = {}
    nulls: dict[tuple[str | None, str, str], ColumnNulls] = {}
    duplicates: dict[tuple[str | None, str, tuple[str, ...]], DuplicateValues] = {}
    casts: dict[tuple[str | None, str, str], TypeCast] = {}
    # a table a pending revision creates: the operations after that create it, their size is
    # the new table's (none), whatever table of that name the database holds now
    created: set[tuple[str | None, str]] = set()
    for recorded in pending:
        for operation in recorded.operations:
            if operation.table is None:
                continue
            target = (
                operation.schema,
                operation.table.lower() if case_insensitive else operation.table,
            )
            if operation.kind == "create_table":
                created.add(target)
            if target in created:
                continue
            table = live_table(operation.table, operation.schema)
            if table is None:
                continue
            key = (table.schema, table.name)
            if table.qualified_name.lower() in held or table.name.lower() in held:
                if key not in sizes:
                    why = "not measured: another session holds a lock on it (see lock-contention)"
                    sizes[key] = TableSize(table.name, table.schema, None, None, None, note=why)
                continue
            if key not in sizes:
                sizes[key] = _table_size(connection, table)
            if operation.kind == "alter_column" and operation.nullable is False:
                column = _live_column(table, operation.columns[0], case_insensitive)
                if column is not None and (table.schema, table.name, column) not in nulls:
                    nulls[(table.schema, table.name, column)] = _column_nulls(
                        connection, table, column
                    )
            if (
                operation.kind == "alter_column"
                and operation.new_type_postgresql
                and not operation.using
                and connection.dialect.name == "postgresql"
            ):
                column = _live_column(table, operation.columns[0], case_insensitive)
                if column is not None and (table.schema, table.name, column) not in casts:
                    casts[(table.schema, table.name, column)] = _type_cast(
                        connection,
                        table,
                        column,
                        operation.new_type_postgresql,
                        operation.new_type_enum,
                    )
            if operation.kind in UNIQUE_KINDS and operation.unique and operation.columns:
                columns = tuple(
                    _live_column(table, name, case_insensitive) for name in operation.columns
                )
                if all(columns):
                    named = tuple(c for c in columns if c is not None)
                    if (table.schema, table.name, named) not in duplicates:
                        duplicates[(table.schema, table.name, named)] = _duplicates(
                            connection, table, named
                        )
    return TableMeasures(
        tuple(sizes.values()),
        tuple(nulls.values()),
        tuple(duplicates.values()),
        case_insensitive,
        tuple(casts.values()),
    )


def _live_column(table: TableFact, name: str, case_insensitive: bool) -> str | None:
    for column in table.column_names:
        if column == name or (case_insensitive and column.lower() == name.lower()):
            return column
    return None


def _read(connection: Connection, read: Callable[[], T]) -> T | str:
    """``read()``'s answer, or why it failed (in a savepoint on PostgreSQL)."""
    try:
        if connection.dialect.name == "postgresql" and connection.in_transaction():
            with connection.begin_nested():
                return read()
        return read()
    except Exception as error:  # noqa: BLE001 - a measure that fails says why, in the finding
        original = getattr(error, "orig", None) or error
        return f"not measured: {describe_exception(original).splitlines()[0][:160]}"


def _source(table: TableFact) -> Any:
    from sqlalchemy import table as table_clause

    return table_clause(table.name, schema=table.schema)


def _table_size(connection: Connection, table: TableFact) -> TableSize:
    from sqlalchemy import exists, literal, select

    has_rows = _read(
        connection,
        lambda: bool(
            connection.execute(
                select(exists(select(literal(1)).select_from(_source(table))))
            ).scalar()
        ),
    )
    catalog = _read(connection, lambda: _catalog_estimate(connection, table))
    note = None
    rows: int | None = None
    total_bytes: int | None = None
    if isinstance(catalog, str):
        note = catalog
    elif catalog is not None:
        rows, total_bytes = catalog
    counted = False
    # the catalog knows nothing (SQLite), was never told (a table not analyzed yet), or says
    # empty where there are rows: count, up to a limit
    if has_rows is True and not rows:
        count = _read(connection, lambda: _bounded_count(connection, table))
        if isinstance(count, str):
            note, rows = count, None
        else:
            rows, counted = count, True
    elif has_rows is False:
        rows = 0
    if isinstance(has_rows, str):
        note = has_rows
    return TableSize(
        table.name,
        table.schema,
        rows,
        total_bytes,
        has_rows if isinstance(has_rows, bool) else None,
        counted,
        note,
    )


def _catalog_estimate(
    connection: Connection, table: TableFact
) -> tuple[int | None, int | None] | None:
    from sqlalchemy import text

    dialect = connection.dialect.name
    if dialect == "postgresql":
        row = connection.execute(
            text(
                "SELECT c.reltuples, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = :name AND n.nspname = COALESCE(:schema, current_schema())"
            ),
            {"name": table.name, "schema": table.schema},
        ).first()
        if row is None:
            return None
        # -1: never analyzed (PostgreSQL 14+)
        estimate = int(row[0]) if row[0] is not None and row[0] >= 0 else None
        return estimate, int(row[1]) if row[1] is not None else None
    if dialect in ("mysql", "mariadb"):
        row = connection.execute(
            text(
                "SELECT TABLE_ROWS, DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = COALESCE(:schema, DATABASE()) AND TABLE_NAME = :name"
            ),
            {"name": table.name, "schema": table.schema},
        ).first()
        if row is None:
            return None
        return (
            int(row[0]) if row[0] is not None else None,
            int(row[1]) if row[1] is not None else None,
        )
    return None


def _bounded_count(connection: Connection, table: TableFact) -> int:
    from sqlalchemy import func, literal, select

    limited = select(literal(1)).select_from(_source(table)).limit(COUNT_LIMIT).subquery()
    return int(connection.execute(select(func.count()).select_from(limited)).scalar() or 0)


def _column_nulls(connection: Connection, table: TableFact, column: str) -> ColumnNulls:
    from sqlalchemy import column as column_clause
    from sqlalchemy import func, select

    query = select(func.count()).select_from(_source(table)).where(column_clause(column).is_(None))
    counted = _read(connection, lambda: int(connection.execute(query).scalar() or 0))
    proven_by = _not_null_check(connection, table, column)
    if isinstance(counted, str):
        return ColumnNulls(table.name, table.schema, column, None, counted, proven_by)
    return ColumnNulls(table.name, table.schema, column, counted, proven_by=proven_by)


# PostgreSQL: whether ALTER COLUMN ... TYPE without USING converts the column: the same type
# (a new length, precision), a string type (any value converts to text in an assignment), or
# an implicit or assignment cast between them; a domain counts as its base type
_ASSIGNMENT_CAST = """
with source as (
    select format_type(a.atttypid, a.atttypmod) as name,
           case when t.typtype = 'd' then t.typbasetype else t.oid end as oid
    from pg_attribute a join pg_type t on t.oid = a.atttypid
    where a.attrelid = to_regclass(%(table)s) and a.attname = %(column)s and not a.attisdropped
), target as (
    select case when t.typtype = 'd' then t.typbasetype else t.oid end as oid, t.typcategory
    from pg_type t where t.oid = to_regtype(%(type)s)
)
select source.name, target.oid is not null,
       source.oid = target.oid or target.typcategory = 'S' or exists (
           select 1 from pg_cast c
           where c.castsource = source.oid and c.casttarget = target.oid
             and c.castcontext in ('a', 'i'))
from source left join target on true
"""


def _type_cast(
    connection: Connection, table: TableFact, column: str, new_type: str, enum: bool = False
) -> TypeCast:
    """Whether PostgreSQL converts ``column`` of ``table`` to ``new_type`` by itself (``enum``:
    an ENUM type, which may be made earlier in the same upgrade)."""
    quote = connection.dialect.identifier_preparer.quote
    qualified = ".".join(quote(part) for part in (table.schema, table.name) if part is not None)
    row = _read(
        connection,
        lambda: connection.exec_driver_sql(
            _ASSIGNMENT_CAST, {"table": qualified, "column": column, "type": new_type}
        ).first(),
    )
    if isinstance(row, str) or row is None:
        note = row if isinstance(row, str) else "the column was not found"
        return TypeCast(table.name, table.schema, column, None, new_type, None, note)
    from_type, target_known, automatic = row
    if not target_known and enum:
        # an ENUM the upgrade makes before it: PostgreSQL converts no other type to an ENUM by
        # itself (pg_cast has no implicit or assignment cast to one), whatever its labels
        why = f"{new_type} is an ENUM type made by the upgrade, which nothing converts to by itself"
        return TypeCast(table.name, table.schema, column, from_type, new_type, False, why)
    if not target_known:
        why = f"type {new_type} does not exist yet (made earlier in the upgrade?)"
        return TypeCast(table.name, table.schema, column, from_type, new_type, None, why)
    return TypeCast(table.name, table.schema, column, from_type, new_type, bool(automatic))


# PostgreSQL: the table's validated CHECK constraints, as the server writes them back
_VALID_CHECKS = (
    "select c.conname, pg_get_constraintdef(c.oid) from pg_constraint c "
    "join pg_class t on t.oid = c.conrelid join pg_namespace n on n.oid = t.relnamespace "
    "where c.contype = 'c' and c.convalidated and t.relname = %(table)s "
    "and n.nspname = coalesce(%(schema)s, current_schema()) order by 1"
)


def _not_null_check(connection: Connection, table: TableFact, column: str) -> str | None:
    """The name of a valid CHECK constraint of ``table`` that proves ``column`` NOT NULL
    (PostgreSQL only: from 12 it spares the SET NOT NULL scan), or None."""
    from migdoctor.operations.not_null_proof import proves

    if connection.dialect.name != "postgresql":
        return None
    rows = _read(
        connection,
        lambda: connection.exec_driver_sql(
            _VALID_CHECKS, {"table": table.name, "schema": table.schema}
        ).all(),
    )
    if isinstance(rows, str):
        return None  # not proven: the warning stays
    return next((str(name) for name, definition in rows if proves(str(definition), column)), None)


def _duplicates(
    connection: Connection, table: TableFact, columns: tuple[str, ...]
) -> DuplicateValues:
    from sqlalchemy import and_, func, select
    from sqlalchemy import column as column_clause

    keys: list[Any] = [column_clause(name) for name in columns]
    grouped = (
        select(*keys, func.count().label("copies"))
        .select_from(_source(table))
        .where(and_(*(key.is_not(None) for key in keys)))
        .group_by(*keys)
        .having(func.count() > 1)
    )
    summary = grouped.subquery()
    totals = _read(
        connection,
        lambda: connection.execute(
            select(func.count(), func.coalesce(func.sum(summary.c.copies), 0))
        ).first(),
    )
    if isinstance(totals, str) or totals is None:
        note = totals if isinstance(totals, str) else None
        return DuplicateValues(table.name, table.schema, columns, None, note=note)
    groups, rows = int(totals[0] or 0), int(totals[1] or 0)
    examples: tuple[tuple[str, ...], ...] = ()
    if groups:
        shown = _read(
            connection,
            lambda: connection.execute(
                grouped.order_by(func.count().desc()).limit(DUPLICATE_EXAMPLES)
            ).all(),
        )
        if not isinstance(shown, str):
            examples = tuple(tuple(str(value) for value in row[: len(columns)]) for row in shown)
    return DuplicateValues(table.name, table.schema, columns, groups, rows, examples)
