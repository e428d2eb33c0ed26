"""The indexes InnoDB keeps for foreign keys, followed through the steps of a run in order: which
step drops the last index a foreign key can use (MySQL/MariaDB refuse it: error 1553 "Cannot
drop index 'x': needed in a foreign key constraint", and the run stops there, half way).

InnoDB needs, at both ends of a foreign key (the referencing table and the referenced one), an
index whose first columns are the key's columns in order; the primary key is one. Dropping an
index is refused only when no other index of that table would still serve. The steps before it
count: a foreign key dropped earlier (in the same revision or an earlier one of the run) needs
nothing any more, an index created earlier on the same leading columns serves it, and
``create_foreign_key`` makes the index it needs when none serves (named after the constraint).

Only what is known is judged: a table whose indexes were not read, a table the run created, and
everything after raw SQL that may change keys (anything but INSERT, UPDATE, DELETE, SELECT) are
left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from migdoctor.facts.foreign_keys import ForeignKeyFact, ForeignKeyFacts
from migdoctor.facts.model import DatabaseFacts
from migdoctor.facts.operations import Operation
from migdoctor.operations.effects import TableKey, table_key

PRIMARY = "PRIMARY"
_DATA_STATEMENTS = ("insert", "update", "delete", "select", "replace", "with")


@dataclass(frozen=True)
class IndexNeeded:
    """``index`` of ``table`` (on ``columns``) is the last index that ``foreign_key`` can use
    at that end (``referenced``: the table the key refers to)."""

    index: str
    table: str
    columns: tuple[str, ...]
    foreign_key: ForeignKeyFact
    referenced: bool


@dataclass
class _Index:
    name: str  # as the database (or the operation) spells it
    columns: list[str | None]  # folded to lower case: MySQL's column names ignore case


class ForeignKeyIndexes:
    """The indexes and foreign keys of a MySQL/MariaDB database as the steps of a run change
    them (:meth:`follow` each operation in the order the run executes them)."""

    def __init__(self, database: DatabaseFacts, keys: ForeignKeyFacts) -> None:
        self.database = database
        self.foreign_keys: list[ForeignKeyFact] = list(keys.foreign_keys)
        self.primary_keys: dict[TableKey, tuple[str, ...]] = {}
        for (schema, table), columns in keys.primary_keys.items():
            self.primary_keys[self._key(schema, table)] = columns
        # table -> folded index name -> index, read from the live table when first needed
        self.indexes: dict[TableKey, dict[str, _Index] | None] = {}
        self.blind = False  # raw SQL ran that may have changed keys: nothing more is judged

    def _key(self, schema: str | None, table: str) -> TableKey:
        return table_key(self.database, schema, table)

    def _table_indexes(self, key: TableKey) -> dict[str, _Index] | None:
        """The indexes of the table as the run has left them so far; None when not known."""
        if key not in self.indexes:
            live = self.database.table(key[1], key[0])
            if live is None:
                self.indexes[key] = None
            else:
                found = {
                    index.name.lower(): _Index(index.name, [_fold(c) for c in index.columns])
                    for index in live.index_facts
                }
                if self.primary_keys.get(key):
                    found[PRIMARY.lower()] = _Index(
                        PRIMARY, [c.lower() for c in self.primary_keys[key]]
                    )
                self.indexes[key] = found
        return self.indexes[key]

    def follow(self, operation: Operation) -> tuple[IndexNeeded, ...]:
        """What ``operation`` would drop that a foreign key still needs (empty when nothing, or
        when it cannot be told); then the state after it."""
        if self.blind:
            return ()
        kind = operation.kind
        if kind == "execute":
            if not operation.detail.lstrip("( ").lower().startswith(_DATA_STATEMENTS):
                self.blind = True
            return ()
        if operation.table is None:
            return ()
        key = self._key(operation.schema, operation.table)
        constraint = operation.constraint_type
        if kind == "drop_index" or (kind == "drop_constraint" and constraint == "unique"):
            return self._drop(key, operation.name)
        if kind == "drop_constraint" and constraint == "primary":
            return self._drop(key, PRIMARY)
        if kind == "drop_constraint" and constraint == "foreignkey" and operation.name:
            self.foreign_keys = [
                fk
                for fk in self.foreign_keys
                if not (
                    self._key(fk.schema, fk.table) == key
                    and fk.name.lower() == operation.name.lower()
                )
            ]
        elif kind in ("create_index", "create_unique_constraint", "create_primary_key"):
            name = PRIMARY if kind == "create_primary_key" else operation.name
            indexes = self._table_indexes(key)
            if indexes is not None and name:
                indexes[name.lower()] = _Index(name, [_written(c) for c in operation.columns])
        elif kind == "create_foreign_key":
            self._add_foreign_key(key, operation)
        elif kind == "drop_table":
            self.indexes[key] = None
            self.foreign_keys = [
                fk for fk in self.foreign_keys if self._key(fk.schema, fk.table) != key
            ]
        elif kind == "create_table":
            self.indexes[key] = None  # the run makes it: its keys are not known here
        elif kind == "rename_table" and operation.name:
            self._rename_table(key, operation)
        elif kind == "drop_column" and operation.columns:
            return self._drop_column(key, operation.columns[0])
        elif kind == "alter_column" and operation.name and operation.columns:
            self._rename_column(key, operation.columns[0], operation.name)
        return ()

    def _drop(self, key: TableKey, name: str | None) -> tuple[IndexNeeded, ...]:
        if not name:
            return ()
        return self._losing(key, lambda indexes: indexes.pop(name.lower(), None))

    def _losing(
        self, key: TableKey, change: Callable[[dict[str, _Index]], object]
    ) -> tuple[IndexNeeded, ...]:
        """Make ``change`` to the indexes of the table ``key``; the foreign key ends on it that
        an index served before and none serves after, each with the index that served it."""
        indexes = self._table_indexes(key)
        if indexes is None:
            return ()
        ends = [
            (foreign_key, referenced, columns, served)
            for foreign_key in self.foreign_keys
            for referenced, columns in self._ends_on(foreign_key, key)
            if (served := [i for i in indexes.values() if _serves(i.columns, columns)])
        ]
        before = {id(index): tuple(index.columns) for *_, served in ends for index in served}
        change(indexes)
        return tuple(
            IndexNeeded(
                served[0].name,
                self._display(key),
                tuple(c or "?" for c in before[id(served[0])]),
                foreign_key,
                referenced,
            )
            for foreign_key, referenced, columns, served in ends
            if not any(_serves(index.columns, columns) for index in indexes.values())
        )

    def _display(self, key: TableKey) -> str:
        live = self.database.table(key[1], key[0])
        if live is not None:
            return live.qualified_name
        return f"{key[0]}.{key[1]}" if key[0] else key[1]

    def _ends_on(
        self, foreign_key: ForeignKeyFact, key: TableKey
    ) -> list[tuple[bool, tuple[str, ...]]]:
        """The ends of ``foreign_key`` on the table ``key``: (referenced, its columns)."""
        ends = []
        if self._key(foreign_key.schema, foreign_key.table) == key:
            ends.append((False, foreign_key.columns))
        if self._key(foreign_key.referred_schema, foreign_key.referred_table) == key:
            ends.append((True, foreign_key.referred_columns))
        return ends

    def _add_foreign_key(self, key: TableKey, operation: Operation) -> None:
        if not operation.name or not operation.referred_table:
            return
        self.foreign_keys.append(
            ForeignKeyFact(
                operation.name,
                key[0],
                key[1],
                operation.columns,
                operation.referred_schema,
                operation.referred_table,
                operation.referred_columns,
            )
        )
        indexes = self._table_indexes(key)
        if indexes is not None and not any(
            _serves(index.columns, operation.columns) for index in indexes.values()
        ):
            # InnoDB makes the index the key needs, named after the constraint
            indexes[operation.name.lower()] = _Index(
                operation.name, [c.lower() for c in operation.columns]
            )

    def _rename_table(self, key: TableKey, operation: Operation) -> None:
        new = self._key(operation.schema, operation.name or "")
        self.indexes[new] = self._table_indexes(key)
        self.indexes[key] = None
        if key in self.primary_keys:
            self.primary_keys[new] = self.primary_keys[key]
        renamed = []
        for fk in self.foreign_keys:
            if self._key(fk.schema, fk.table) == key:
                fk = _replaced(fk, table=new[1])
            if self._key(fk.referred_schema, fk.referred_table) == key:
                fk = _replaced(fk, referred_table=new[1])
            renamed.append(fk)
        self.foreign_keys = renamed

    def _drop_column(self, key: TableKey, column: str) -> tuple[IndexNeeded, ...]:
        """MySQL takes a dropped column out of every index (an index left with none goes), and
        refuses when that leaves a foreign key without one (error 1553 on MariaDB, 1828 on
        MySQL 8 for a column of the key itself)."""

        def take_out(indexes: dict[str, _Index]) -> None:
            for name, index in list(indexes.items()):
                index.columns = [c for c in index.columns if c != column.lower()]
                if not index.columns:
                    del indexes[name]

        return self._losing(key, take_out)

    def _rename_column(self, key: TableKey, old: str, new: str) -> None:
        indexes = self._table_indexes(key)
        for index in (indexes or {}).values():
            index.columns = [new.lower() if c == old.lower() else c for c in index.columns]
        renamed = []
        for fk in self.foreign_keys:
            if self._key(fk.schema, fk.table) == key:
                fk = _replaced(fk, columns=_renamed(fk.columns, old, new))
            if self._key(fk.referred_schema, fk.referred_table) == key:
                fk = _replaced(fk, referred_columns=_renamed(fk.referred_columns, old, new))
            renamed.append(fk)
        self.foreign_keys = renamed


def _replaced(foreign_key: ForeignKeyFact, **changes: object) -> ForeignKeyFact:
    from dataclasses import replace

    return replace(foreign_key, **changes)  # type: ignore[arg-type]


def _renamed(columns: tuple[str, ...], old: str, new: str) -> tuple[str, ...]:
    return tuple(new if c.lower() == old.lower() else c for c in columns)


def _serves(index_columns: list[str | None], key_columns: tuple[str, ...]) -> bool:
    """Whether an index on ``index_columns`` can serve a foreign key on ``key_columns``: the
    key's columns are its first ones, in order."""
    wanted = [c.lower() for c in key_columns]
    return bool(wanted) and index_columns[: len(wanted)] == wanted


def _written(column: str) -> str | None:
    """A column of an index as an operation writes it, folded (``x DESC``: x); None for an
    expression (``lower(x)``), which no foreign key can use."""
    found = _WRITTEN_COLUMN.fullmatch(column.strip())
    return found.group(1).lower() if found else None


_WRITTEN_COLUMN = re.compile(r"[`\"]?(\w+)[`\"]?(?:\s+(?:ASC|DESC))?", re.IGNORECASE)


def _fold(column: str | None) -> str | None:
    return None if column is None else column.lower()
