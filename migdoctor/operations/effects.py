"""What operations leave in a schema, and whether the live schema shows it.

Pure functions over recorded operations and database facts. They answer the questions every
repair needs before it touches the version table:

- would a pending revision create a table that is already there? (``creation_conflicts``)
- do the names the revisions up to a revision create all show in the live schema, where the
  schema at that revision could not be measured? (``schema_mismatches``)
- which of one revision's operations are visible, which are not? (``operation_visibility``)
- was the next pending revision applied half way? (``next_revision_partly_applied``)
- which revisions' schema does the live one equal? (``matching_revisions``, from the schema at
  every revision that the capture measured with alembic's comparison)

Effects are net: a column a revision adds and a later one drops is expected absent, and a
renamed table is expected under its new name. Operations whose effect the schema cannot show
(raw SQL, data, type changes, constraints) are reported as unverifiable, never as proof.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from migdoctor.facts.model import DatabaseFacts, Facts, RevisionSchemaComparison
from migdoctor.operations.model import Operation, RevisionOperations

TableKey = tuple[str | None, str]
# an expectation: ("table", key, ""), ("column", key, name) or ("index", key, name)
Expectation = tuple[str, TableKey, str]


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
    return None


def _column(database: DatabaseFacts, name: str) -> str:
    return name.lower() if database.case_insensitive_names else name


def is_present(expectation: Expectation, database: DatabaseFacts) -> bool:
    kind, (schema, name), item = expectation
    table = database.table(name, schema)
    if table is None:
        return False
    if kind == "table":
        return True
    if kind == "column":
        return table.has_column(item, database.case_insensitive_names)
    return item in table.indexes


def operation_visibility(operation: Operation, database: DatabaseFacts) -> Visibility:
    """Whether the live schema shows this one operation's effect."""
    expectations = _expectations(operation, database)
    if not expectations:
        return Visibility.UNVERIFIABLE
    if all(is_present(e, database) == wanted for e, wanted in expectations):
        return Visibility.VISIBLE
    return Visibility.MISSING


@dataclass(frozen=True)
class TableConflict:
    """``revision`` creates ``table``, which will already exist when it runs."""

    revision: str
    table: str
    live: bool
    missing_columns: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()


def creation_conflicts(
    revisions: Sequence[RevisionOperations], database: DatabaseFacts
) -> list[TableConflict]:
    """Tables that revisions, run in this order from the live schema, would create twice."""
    live = {table_key(database, t.schema, t.name): t for t in database.tables}
    existing = set(live)
    conflicts = []
    for recorded in revisions:
        for operation in recorded.operations:
            if operation.table is None:
                continue
            key = table_key(database, operation.schema, operation.table)
            if operation.kind == "create_table":
                if key in existing:
                    conflicts.append(
                        _conflict(recorded.revision, operation, key, live.get(key), database)
                    )
                existing.add(key)
            elif operation.kind == "drop_table":
                existing.discard(key)
            elif operation.kind == "rename_table" and operation.name:
                existing.discard(key)
                existing.add(table_key(database, operation.schema, operation.name))
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
            self._expect(expectation, wanted)
            if expectation[0] == "column" and wanted:
                self.tables_columns.setdefault(expectation[1], set()).add(expectation[2])
        return [e for e, _ in expectations]

    def _expect(self, expectation: Expectation, wanted: bool) -> None:
        self.expected[expectation] = wanted
        if is_present(expectation, self.database) == wanted:
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


# -- a revision applied half way -------------------------------------------------------------------


@dataclass(frozen=True)
class OperationState:
    """One operation of a revision's ``upgrade()`` (``index`` is its place in the recorded
    order) and whether the live schema shows it."""

    index: int
    operation: Operation
    visibility: Visibility


@dataclass(frozen=True)
class PartialApplication:
    """A revision some of whose operations show in the live schema while others do not.

    A failed run executes operations in order and stops, so an operation whose effect cannot be
    seen (raw SQL, a foreign key) is taken to have run when it comes before every missing one and
    before a visible one, and not to have run when it comes after a missing one and after every
    visible one. Anything else cannot be told: ``ambiguous``.
    """

    revision: str
    states: tuple[OperationState, ...]
    # False where a failed run is rolled back whole (PostgreSQL without autocommit_block): what
    # shows was then created outside the migrations
    half_applied_possible: bool = True

    def _indexes(self, visibility: Visibility) -> list[int]:
        return [s.index for s in self.states if s.visibility == visibility]

    @property
    def applied(self) -> tuple[OperationState, ...]:
        """Operations that ran: visible, or unverifiable but before a visible one."""
        last_visible = max(self._indexes(Visibility.VISIBLE))
        first_missing = min(self._indexes(Visibility.MISSING))
        return tuple(
            s
            for s in self.states
            if s.visibility == Visibility.VISIBLE
            or (
                s.visibility == Visibility.UNVERIFIABLE
                and s.index < last_visible
                and s.index < first_missing
            )
        )

    @property
    def missing(self) -> tuple[OperationState, ...]:
        """Operations that did not run: missing, or unverifiable but after a missing one."""
        last_visible = max(self._indexes(Visibility.VISIBLE))
        first_missing = min(self._indexes(Visibility.MISSING))
        return tuple(
            s
            for s in self.states
            if s.visibility == Visibility.MISSING
            or (
                s.visibility == Visibility.UNVERIFIABLE
                and s.index > first_missing
                and s.index > last_visible
            )
        )

    @property
    def ambiguous(self) -> tuple[OperationState, ...]:
        """Unverifiable operations of which it cannot be told whether they ran."""
        known = {s.index for s in self.applied + self.missing}
        return tuple(s for s in self.states if s.index not in known)


def partial_application(
    recorded: RevisionOperations, database: DatabaseFacts
) -> PartialApplication | None:
    """The revision's operations with their visibility, when some show and others do not."""
    states = tuple(
        OperationState(index, operation, operation_visibility(operation, database))
        for index, operation in enumerate(recorded.operations)
    )
    seen = {state.visibility for state in states}
    if Visibility.VISIBLE in seen and Visibility.MISSING in seen:
        return PartialApplication(recorded.revision, states, can_stop_half_way(recorded, database))
    return None


def can_stop_half_way(recorded: RevisionOperations, database: DatabaseFacts) -> bool:
    """Whether a failed run of this revision can leave part of it behind: where DDL is not
    transactional (MySQL, MariaDB, SQLite as alembic drives it), or inside an
    ``autocommit_block()``. Elsewhere (PostgreSQL) a failed revision is rolled back whole."""
    return not database.transactional_ddl or recorded.autocommit


def next_revision_partly_applied(facts: Facts) -> PartialApplication | None:
    """The next revision ``upgrade`` would run, when the live schema shows part of it: what a
    failed upgrade leaves where DDL is not transactional (MySQL, MariaDB), or what was created
    outside the migrations.

    Visibility alone is name-deep (a rename looks done when the old name is taken again), so a
    database whose schema alembic's comparison finds equal to the current revision's, or to the
    next one's, is never partly applied; nor is one whose differences from the current revision
    lie outside the tables the next revision touches, nor one whose schema is that of any
    pending revision."""
    pending = facts.pending
    database = facts.database
    if database is None or not pending:
        return None
    recorded = facts.operations.get(pending[0])
    if recorded is None:
        return None
    partial = partial_application(recorded, database)
    if partial is None:
        return None
    current = comparison_with(facts, database.version_rows)
    if current is not None and current.matches:
        return None
    history = database.schema_history
    if history is not None and any(revision in history.matching for revision in pending):
        # the schema is that of a pending revision: everything up to it ran, the next one
        # included (an emptied version table); table-exists tells that story
        return None
    if current is not None and current.error is None:
        touched = {
            table_key(database, op.schema, name)
            for op in recorded.operations
            for name in (op.table, op.name if op.kind == "rename_table" else None)
            if name
        }
        differing = {
            table_key(database, *_split(difference.table)) for difference in current.differences
        }
        if not differing & touched:
            return None
    return partial


def _split(qualified: str) -> tuple[str | None, str]:
    schema, _, name = qualified.rpartition(".")
    return (schema or None, name)


# -- the schema at a revision -------------------------------------------------------------------


def comparison_with(facts: Facts, revisions: Sequence[str]) -> RevisionSchemaComparison | None:
    """alembic's comparison of the live schema with the schema at ``revisions``, when the
    capture made it."""
    database = facts.database
    if database is None or database.schema_history is None:
        return None
    return database.schema_history.comparison(revisions)


def matching_revisions(facts: Facts) -> tuple[str, ...]:
    """The revisions a stamp may name: their schema the live one equals by alembic's
    comparison, without resting on tables the history cannot know (newest first)."""
    database = facts.database
    if database is None or database.schema_history is None:
        return ()
    return database.schema_history.stampable


@dataclass(frozen=True)
class SchemaPosition:
    """Which revision the live schema is at, for the report's header and JSON."""

    matches: tuple[str, ...]
    current_matches: bool
    closest: str | None = None
    differences: int = 0
    unknown: str | None = None
    # why alembic's comparison with the closest revision failed
    error: str | None = None

    def words(self) -> str:
        if self.unknown:
            return f"cannot tell which revision it is at ({self.unknown})"
        if self.error and not self.matches:
            return f"cannot compare with revision {self.closest} ({self.error})"
        if self.matches:
            listed = ", ".join(self.matches)
            note = " (the version table's)" if self.current_matches else ""
            plural = "s" if len(self.matches) > 1 else ""
            return f"matches revision{plural} {listed}{note}"
        if self.closest:
            return (
                f"matches no revision; closest {self.closest} "
                f"({self.differences} difference{'s' if self.differences != 1 else ''})"
            )
        return "matches no revision"

    def as_evidence(self) -> dict[str, object]:
        return {
            "matches": list(self.matches),
            "current_matches": self.current_matches,
            "closest": self.closest,
            "differences": self.differences,
            "unknown": self.unknown,
            "error": self.error,
        }


def schema_position(facts: Facts) -> SchemaPosition | None:
    """Where the live schema stands in the history; None when it was not measured."""
    database = facts.database
    history = database.schema_history if database is not None else None
    if database is None or history is None:
        return None
    if history.unknown:
        return SchemaPosition((), False, unknown=history.unknown)
    current = history.comparison(database.version_rows)
    current_matches = current is not None and current.matches and bool(database.version_rows)
    matches = history.matching
    if current_matches and not matches:
        matches = tuple(database.version_rows)
    tied = matches or history.closest()
    # among revisions as close as each other, the version table's own comes first
    closest = next((r for r in tied if r in database.version_rows), next(iter(tied), None))
    comparison = history.comparison((closest,)) if closest else None
    return SchemaPosition(
        matches=matches,
        current_matches=current_matches,
        closest=closest,
        differences=len(comparison.differences) if comparison is not None else 0,
        error=comparison.error if comparison is not None else None,
    )
