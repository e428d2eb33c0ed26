"""What the live data says about the tables pending operations touch: how big each is, how
many NULLs a column that becomes NOT NULL holds, which values a new unique index would find
twice. Measured once (``database/operation_measures.py``), then frozen."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

# a table's rows are counted up to this many when the catalog has no estimate (SQLite, a table
# never analyzed): "at least" beyond it
COUNT_LIMIT = 1_000_000
# how many duplicated values a finding shows
DUPLICATE_EXAMPLES = 5


@dataclass(frozen=True)
class TableSize:
    """A live table's size: ``rows`` estimated from the catalog (``pg_class.reltuples``,
    ``information_schema.TABLES.TABLE_ROWS``) or counted up to COUNT_LIMIT (``counted``);
    ``total_bytes`` with its indexes (None where the database does not say); ``has_rows``
    exactly (one row read). ``note`` says why something is unknown."""

    table: str
    schema: str | None
    rows: int | None
    total_bytes: int | None
    has_rows: bool | None
    counted: bool = False
    note: str | None = None

    def rows_in_words(self) -> str:
        if self.rows is None:
            return (
                "rows unknown"
                if self.has_rows is None
                else ("has rows" if self.has_rows else "empty")
            )
        if self.counted and self.rows >= COUNT_LIMIT:
            return f"at least {COUNT_LIMIT:,} rows"
        prefix = "" if self.counted else "~"
        return f"{prefix}{self.rows:,} row{'s' if self.rows != 1 else ''}"


@dataclass(frozen=True)
class ColumnNulls:
    """How many rows hold NULL in a column (None: not counted, ``note`` says why);
    ``proven_by`` a valid CHECK constraint of the table that proves the column NOT NULL
    (PostgreSQL), by name."""

    table: str
    schema: str | None
    column: str
    nulls: int | None
    note: str | None = None
    proven_by: str | None = None


@dataclass(frozen=True)
class TypeCast:
    """Whether PostgreSQL converts a column to a new type by itself (an assignment cast, as
    ``ALTER COLUMN ... TYPE`` without ``USING`` needs): ``automatic`` None when it could not be
    told (a type that does not exist yet, a read that failed: ``note``)."""

    table: str
    schema: str | None
    column: str
    from_type: str | None
    to_type: str
    automatic: bool | None
    note: str | None = None


@dataclass(frozen=True)
class DuplicateValues:
    """Values of ``columns`` held by more than one row (rows with a NULL in them aside, as a
    unique index allows those): ``groups`` how many such values, ``rows`` how many rows hold
    them, ``examples`` a few of them."""

    table: str
    schema: str | None
    columns: tuple[str, ...]
    groups: int | None
    rows: int | None = None
    examples: tuple[tuple[str, ...], ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class TableMeasures:
    """Every measure taken, looked up by table (and column) as the database matches names."""

    sizes: tuple[TableSize, ...] = ()
    nulls: tuple[ColumnNulls, ...] = ()
    duplicates: tuple[DuplicateValues, ...] = ()
    case_insensitive: bool = False
    casts: tuple[TypeCast, ...] = ()

    def _same(self, a: str, b: str) -> bool:
        return a.lower() == b.lower() if self.case_insensitive else a == b

    @cached_property
    def _sizes_by_table(self) -> dict[tuple[str | None, str], TableSize]:
        by_table: dict[tuple[str | None, str], TableSize] = {}
        for size in self.sizes:
            by_table.setdefault((size.schema, self._key(size.table)), size)
        return by_table

    def _key(self, name: str) -> str:
        return name.lower() if self.case_insensitive else name

    def size(self, table: str, schema: str | None) -> TableSize | None:
        return self._sizes_by_table.get((schema, self._key(table)))

    def nulls_in(self, table: str, schema: str | None, column: str) -> ColumnNulls | None:
        return next(
            (
                n
                for n in self.nulls
                if n.schema == schema
                and self._same(n.table, table)
                and self._same(n.column, column)
            ),
            None,
        )

    def cast_in(self, table: str, schema: str | None, column: str) -> TypeCast | None:
        return next(
            (
                c
                for c in self.casts
                if c.schema == schema
                and self._same(c.table, table)
                and self._same(c.column, column)
            ),
            None,
        )

    def duplicates_in(
        self, table: str, schema: str | None, columns: tuple[str, ...]
    ) -> DuplicateValues | None:
        return next(
            (
                d
                for d in self.duplicates
                if d.schema == schema
                and self._same(d.table, table)
                and len(d.columns) == len(columns)
                and all(self._same(a, b) for a, b in zip(d.columns, columns, strict=True))
            ),
            None,
        )
