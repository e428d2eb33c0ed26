"""The foreign keys of a MySQL/MariaDB database, as frozen data: InnoDB needs, at each end of
each of them, an index whose first columns are the key's columns, and refuses to drop the last
such index (error 1553)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# (schema, table): the schema is None for the default one
TableName = tuple[str | None, str]


@dataclass(frozen=True)
class ForeignKeyFact:
    """``table(columns)`` refers to ``referred_table(referred_columns)``."""

    name: str
    schema: str | None
    table: str
    columns: tuple[str, ...]
    referred_schema: str | None
    referred_table: str
    referred_columns: tuple[str, ...]

    def describe(self) -> str:
        here = f"{self.schema}.{self.table}" if self.schema else self.table
        there = (
            f"{self.referred_schema}.{self.referred_table}"
            if self.referred_schema
            else self.referred_table
        )
        return (
            f"{self.name} ({here}.{', '.join(self.columns)} → "
            f"{there}.{', '.join(self.referred_columns)})"
        )


@dataclass(frozen=True)
class ForeignKeyFacts:
    """Every foreign key of the schemas read, and the primary key columns of their tables (a
    table not named has none): the primary key is an index a foreign key can use, which the
    reflected indexes leave out."""

    foreign_keys: tuple[ForeignKeyFact, ...] = ()
    primary_keys: Mapping[TableName, tuple[str, ...]] = field(default_factory=dict)
