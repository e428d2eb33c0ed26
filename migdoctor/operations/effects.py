"""What operations leave in a schema, and whether the live schema shows it.

Pure functions over recorded operations and database facts. They answer the questions every
repair needs before it touches the version table:

- would a pending revision create a table that is already there? (``creation_conflicts``)
- do the names the revisions up to a revision create all show in the live schema, where the
  schema at that revision could not be measured? (``schema_mismatches``)
- which of one revision's operations are visible, which are not? (``operation_visibility``,
  ``revision_visibility``)

Built on them: whether a revision was applied half way (``partial_application``), which
revision the live schema is at (``schema_position``), and whether an upgrade would fail
(``upgrade_blockers``).

Effects are net: a column a revision adds and a later one drops is expected absent, and a
renamed table is expected under its new name. Operations whose effect the schema cannot show
(raw SQL, data, type changes, constraints) are reported as unverifiable, never as proof.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from migdoctor.facts.model import DatabaseFacts
from migdoctor.facts.operations import Operation, RevisionOperations

TableKey = tuple[str | None, str]
# an expectation: ("table", key, ""), ("column", key, name) or ("index", key, name)
Expectation = tuple[str, TableKey, str]
# the index an operation creates: its columns in order, and whether it is unique
IndexShape = tuple[tuple[str, ...], bool]


class Visibility(str, Enum):
    VISIBLE = "visible"
    MISSING = "missing"
    UNVERIFIABLE = "unverifiable"


def table_key(database: DatabaseFacts, schema: str | None, name: str) -> TableKey:
    schema = database.normalize_schema(schema)
    return (schema, name.lower() if database.case_insensitive_names else name)


def _display(key: TableKey) -> str:
    return f"{key[0]}.{key[1]}" if key[0] else key[1]


def describe_expectation(expectation: Expectation, present: bool) -> str:
    kind, key, name = expectation
    what = {"table": f"table {_display(key)}", "column": f"column {_display(key)}.{name}"}.get(
        kind, f"index {name} on {_display(key)}"
    )
    return what if present else f"{what} (expected gone)"


def _expectations(
    operation: Operation, database: DatabaseFacts
) -> list[tuple[Expectation, bool]] | None:
    """What must be present (True) or absent (False) once ``operation`` ran; None when the
    schema cannot show its effect."""
    if operation.table is None:
        return None
    key = table_key(database, operation.schema, operation.table)
    kind = operation.kind
    if kind == "create_table":
        return [(("table", key, ""), True)] + [
            (("column", key, _column(database, c)), True) for c in operation.columns
        ]
    if kind == "drop_table":
        return [(("table", key, ""), False)]
    if kind == "rename_table" and operation.name:
        new_key = table_key(database, operation.schema, operation.name)
        return [(("table", key, ""), False), (("table", new_key, ""), True)]
    if kind == "add_column":
        return [(("column", key, _column(database, c)), True) for c in operation.columns]
    if kind == "drop_column":
        return [(("column", key, _column(database, c)), False) for c in operation.columns]
    if kind == "alter_column" and operation.name:
        return [(("column", key, _column(database, c)), False) for c in operation.columns] + [
            (("column", key, _column(database, operation.name)), True)
        ]
    if kind in ("create_index", "drop_index") and operation.name:
        return [(("index", key, operation.name), kind == "create_index")]
    if _unique_constraint_is_index(operation, database) and operation.name:
        return [(("index", key, operation.name), kind == "create_unique_constraint")]
    return None


def _unique_constraint_is_index(operation: Operation, database: DatabaseFacts) -> bool:
    """A unique constraint made or dropped on MySQL/MariaDB, where it is a unique index of its
    name (and reflected as one)."""
    if database.dialect not in ("mysql", "mariadb"):
        return False
    return operation.kind == "create_unique_constraint" or (
        operation.kind == "drop_constraint" and operation.constraint_type == "unique"
    )


def _shape(operation: Operation) -> IndexShape | None:
    """The index ``operation`` creates, as the live one of its name must be to be it (None:
    it creates none, or not only on plain columns: an expression or a sort order, ``lower(x)``,
    ``x DESC``, reads back otherwise, and the name must do)."""
    if operation.kind not in ("create_index", "create_unique_constraint"):
        return None
    if not operation.columns or not all(_PLAIN_COLUMN.fullmatch(c) for c in operation.columns):
        return None
    return operation.columns, operation.unique


_PLAIN_COLUMN = re.compile(r"[^\s()'\"`]+")


def _column(database: DatabaseFacts, name: str) -> str:
    return name.lower() if database.case_insensitive_names else name


def is_present(
    expectation: Expectation, database: DatabaseFacts, shape: IndexShape | None = None
) -> bool:
    """Whether the live schema has what ``expectation`` names; an index with ``shape`` only
    on those columns (and as unique), not just of that name."""
    kind, (schema, name), item = expectation
    table = database.table(name, schema)
    if table is None:
        return False
    if kind == "table":
        return True
    if kind == "column":
        return table.has_column(item, database.case_insensitive_names)
    index = table.index(item)
    if index is None or shape is None:
        return index is not None
    columns, unique = shape
    if None in index.columns:
        return True  # on an expression the reflection cannot name: its name must do
    fold = str.lower if database.dialect in ("mysql", "mariadb", "sqlite") else str
    same_columns = [fold(c) for c in index.columns if c is not None] == [fold(c) for c in columns]
    return same_columns and index.unique == unique


def operation_visibility(operation: Operation, database: DatabaseFacts) -> Visibility:
    """Whether the live schema shows this one operation's effect."""
    expectations = _expectations(operation, database)
    if not expectations:
        return Visibility.UNVERIFIABLE
    shape = _shape(operation)
    if all(is_present(e, database, shape) == wanted for e, wanted in expectations):
        return Visibility.VISIBLE
    return Visibility.MISSING


def revision_visibility(
    operations: Sequence[Operation], database: DatabaseFacts
) -> tuple[Visibility, ...]:
    """Whether the live schema shows each operation of one revision's ``upgrade()``, in order.

    A name the revision itself drops and then makes again (a column dropped, then another
    renamed to its name) is there both before the revision and after it, and so is a name it
    makes and then drops again: its presence (or absence) tells nothing of whether the later
    operation ran, so it is left out of that operation's evidence, and an operation with no
    evidence left is unverifiable."""
    # what an earlier operation of the revision leaves present (True) or absent (False)
    earlier: dict[tuple[str, TableKey, str], bool] = {}
    visibilities = []
    for operation in operations:
        expectations = _expectations(operation, database) or []
        telling = [(e, wanted) for e, wanted in expectations if earlier.get(e, wanted) == wanted]
        if not telling:
            visibilities.append(Visibility.UNVERIFIABLE)
        elif all(is_present(e, database, _shape(operation)) == wanted for e, wanted in telling):
            visibilities.append(Visibility.VISIBLE)
        else:
            visibilities.append(Visibility.MISSING)
        for expectation, wanted in expectations:
            earlier[expectation] = wanted
    return tuple(visibilities)


def net_effects_missing(
    operations: Sequence[Operation], database: DatabaseFacts
) -> list[tuple[Expectation, bool]]:
    """What ``operations``, run in this order, leave present (True) or absent (False) that the
    live schema does not show. Net: the last operation on a name decides (a column one revision
    adds and a later one drops is expected absent, and so is every column of a table dropped
    later); an operation that changes a table shows it was there (JupyterHub's revisions drop a
    table its application makes again, then alter it); one whose effect the schema cannot show
    adds nothing more."""
    return [
        (e, wanted)
        for e, wanted in net_effects(operations, database)
        if is_present(e, database) != wanted
    ]


def net_effects_shown(
    operations: Sequence[Operation], database: DatabaseFacts
) -> list[tuple[Expectation, bool]]:
    """What ``operations``, run in this order, leave present (True) or absent (False) that the
    live schema already shows, the complement of :func:`net_effects_missing`."""
    return [
        (e, wanted)
        for e, wanted in net_effects(operations, database)
        if is_present(e, database) == wanted
    ]


def net_effects(
    operations: Sequence[Operation], database: DatabaseFacts
) -> list[tuple[Expectation, bool]]:
    """What ``operations``, run in this order, leave present (True) or absent (False) (see
    :func:`net_effects_missing`), whatever the live schema shows."""
    final: dict[Expectation, bool] = {}
    for operation in operations:
        if operation.table is not None and operation.kind in ("drop_table", "rename_table"):
            dropped = table_key(database, operation.schema, operation.table)
            final = {e: wanted for e, wanted in final.items() if e[1] != dropped}
        elif operation.table is not None:
            final[("table", table_key(database, operation.schema, operation.table), "")] = True
        for expectation, wanted in _expectations(operation, database) or []:
            final[expectation] = wanted
    return list(final.items())


@dataclass(frozen=True)
class TableConflict:
    """``revision`` creates ``table``, which will already exist when it runs."""

    revision: str
    table: str
    live: bool
    missing_columns: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()
    # the pending revision that creates it before, when it is not a live table
    created_by: str | None = None


def creation_conflicts(
    revisions: Sequence[RevisionOperations], database: DatabaseFacts
) -> list[TableConflict]:
    """Tables that revisions, run in this order from the live schema, would create twice."""
    live = {table_key(database, t.schema, t.name): t for t in database.tables}
    # each table there when an operation runs: None for a live one, else the revision making it
    existing: dict[TableKey, str | None] = dict.fromkeys(live)
    conflicts = []
    for recorded in revisions:
        for operation in recorded.operations:
            if operation.table is None:
                continue
            key = table_key(database, operation.schema, operation.table)
            if operation.kind == "create_table":
                if key in existing:
                    maker = existing[key]
                    if maker is None:
                        found = _conflict(
                            recorded.revision, operation, key, live.get(key), database
                        )
                    else:
                        found = TableConflict(
                            recorded.revision, _display(key), live=False, created_by=maker
                        )
                    conflicts.append(found)
                existing[key] = recorded.revision
            elif operation.kind == "drop_table":
                existing.pop(key, None)
            elif operation.kind == "rename_table" and operation.name:
                maker = existing.pop(key, recorded.revision)
                existing[table_key(database, operation.schema, operation.name)] = maker
    return conflicts


@dataclass(frozen=True)
class ColumnConflict:
    """``revision`` adds ``column`` to ``table``, where the live schema already has it."""

    revision: str
    table: str
    column: str


def column_conflicts(
    revisions: Sequence[RevisionOperations], database: DatabaseFacts
) -> list[ColumnConflict]:
    """Columns that revisions, run in this order from the live schema, would add to a live
    table that already has them (alembic: "duplicate column"). A table the revisions create,
    drop or rename first, and a column they drop or rename first, are theirs, not the live
    schema's."""
    made: set[TableKey] = set()
    released: set[tuple[TableKey, str]] = set()
    conflicts = []
    for recorded in revisions:
        for operation in recorded.operations:
            if operation.table is None:
                continue
            key = table_key(database, operation.schema, operation.table)
            if operation.kind in ("create_table", "drop_table", "rename_table"):
                made.add(key)
                if operation.kind == "rename_table" and operation.name:
                    made.add(table_key(database, operation.schema, operation.name))
            elif operation.kind in ("drop_column", "alter_column") and operation.columns:
                if operation.kind == "drop_column" or operation.name:
                    released.add((key, _column(database, operation.columns[0])))
            elif operation.kind == "add_column" and operation.columns and key not in made:
                column = operation.columns[0]
                live = database.table(key[1], key[0])
                if (key, _column(database, column)) in released or live is None:
                    continue
                if _column(database, column) in {_column(database, c) for c in live.column_names}:
                    conflicts.append(ColumnConflict(recorded.revision, _display(key), column))
    return conflicts


def _conflict(
    revision: str, operation: Operation, key: TableKey, live_table: object, database: DatabaseFacts
) -> TableConflict:
    from migdoctor.facts.model import TableFact

    if not isinstance(live_table, TableFact):
        return TableConflict(revision, _display(key), live=False)
    wanted = {_column(database, c): c for c in operation.columns}
    have = {_column(database, c): c for c in live_table.column_names}
    return TableConflict(
        revision,
        live_table.qualified_name,
        live=True,
        missing_columns=tuple(wanted[c] for c in wanted if c not in have),
        extra_columns=tuple(have[c] for c in have if c not in wanted),
    )


@dataclass
class _Replay:
    """Net expectations of the operations applied so far, and which of them the live schema
    does not meet (kept up to date as operations are applied: the schema itself is fixed)."""

    database: DatabaseFacts
    expected: dict[Expectation, bool] = field(default_factory=dict)
    unmet: set[Expectation] = field(default_factory=set)
    tables_columns: dict[TableKey, set[str]] = field(default_factory=dict)

    def apply(self, operation: Operation) -> list[Expectation] | None:
        expectations = _expectations(operation, self.database)
        if expectations is None:
            return None
        if operation.kind == "drop_table":
            self._forget_table(table_key(self.database, operation.schema, operation.table or ""))
        if operation.kind == "rename_table" and operation.name:
            self._move_table(operation)
        for expectation, wanted in expectations:
            self._expect(expectation, wanted, _shape(operation))
            if expectation[0] == "column" and wanted:
                self.tables_columns.setdefault(expectation[1], set()).add(expectation[2])
        return [e for e, _ in expectations]

    def _expect(
        self, expectation: Expectation, wanted: bool, shape: IndexShape | None = None
    ) -> None:
        self.expected[expectation] = wanted
        if is_present(expectation, self.database, shape) == wanted:
            self.unmet.discard(expectation)
        else:
            self.unmet.add(expectation)

    def _forget_table(self, key: TableKey) -> None:
        for expectation in [e for e in self.expected if e[1] == key and e[0] != "table"]:
            del self.expected[expectation]
            self.unmet.discard(expectation)
        self.tables_columns.pop(key, None)

    def _move_table(self, operation: Operation) -> None:
        old = table_key(self.database, operation.schema, operation.table or "")
        new = table_key(self.database, operation.schema, operation.name or "")
        columns = self.tables_columns.pop(old, set())
        self._forget_table(old)
        for column in columns:
            self._expect(("column", new, column), True)
        self.tables_columns[new] = columns


def schema_mismatches(
    revisions: Sequence[RevisionOperations], database: DatabaseFacts
) -> list[str]:
    """What the live schema lacks (or still has) once every revision of ``revisions`` ran, in
    upgrade order: empty when the schema shows their whole net effect."""
    replay = _Replay(database)
    for recorded in revisions:
        for operation in recorded.operations:
            replay.apply(operation)
    return [
        describe_expectation(e, replay.expected[e]) for e in replay.expected if e in replay.unmet
    ]
