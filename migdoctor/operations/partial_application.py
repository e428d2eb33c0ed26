"""A revision applied half way: which of its operations the live schema shows, and whether the
next revision an upgrade would run is partly there already."""

from __future__ import annotations

from dataclasses import dataclass

from migdoctor.facts.model import DatabaseFacts, Facts
from migdoctor.facts.operations import Operation, RevisionOperations
from migdoctor.operations.effects import (
    Visibility,
    revision_visibility,
    table_key,
)
from migdoctor.operations.schema_position import comparison_with, matching_revisions


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
    stops_half_way: bool = True

    def _indexes(self, visibility: Visibility) -> list[int]:
        return [s.index for s in self.states if s.visibility == visibility]

    @property
    def in_run_order(self) -> bool:
        """Whether a run stopping at one operation can leave this: every visible operation
        comes before every missing one. An operation that shows after one that does not was
        made by something else than this revision's run."""
        return max(self._indexes(Visibility.VISIBLE)) < min(self._indexes(Visibility.MISSING))

    @property
    def half_applied_possible(self) -> bool:
        """Whether a failed run of the revision explains what shows: where it can stop half
        way, and with what shows a beginning of its operations. Otherwise what shows was created
        outside the migrations."""
        return self.stops_half_way and self.in_run_order

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
    """The revision's operations with their visibility, when some show and others do not (an
    index of the name the revision creates, on other columns, is not its ``create_index``
    run: ``operations.effects.is_present``)."""
    visibilities = revision_visibility(recorded.operations, database)
    states = tuple(
        OperationState(index, operation, visibility)
        for index, (operation, visibility) in enumerate(
            zip(recorded.operations, visibilities, strict=True)
        )
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
    touched = {
        table_key(database, op.schema, name)
        for op in recorded.operations
        for name in (op.table, op.name if op.kind == "rename_table" else None)
        if name
    }
    current = comparison_with(facts, database.version_rows)
    # the comparison says nothing of the tables it leaves out: JupyterHub's revisions alter
    # tables only its application creates, so the current revision "matched" a schema half way
    # through the next one
    unseen = (
        {table_key(database, *_split(table)) for table in current.uncertain_tables}
        if current is not None
        else set()
    )
    if current is not None and current.matches and not touched & unseen:
        return None
    history = database.schema_history
    if history is not None and any(revision in matching_revisions(facts) for revision in pending):
        # the schema is that of a pending revision: everything up to it ran, the next one
        # included (an emptied version table); table-exists tells that story
        return None
    if current is not None and current.error is None:
        differing = {
            table_key(database, *_split(difference.table)) for difference in current.differences
        }
        if not differing & touched and not touched & unseen:
            return None
    return partial


def clashing_indexes(facts: Facts, partial: PartialApplication) -> list[Operation]:
    """The missing ``create_index`` operations of ``partial`` whose name an index of the live
    schema holds already (on other columns, or it would not be missing): completing the
    revision would fail on them.

    microblog (github.com/miguelgrinberg/microblog), revision 834b1a697901 on MariaDB: an index
    of its name made by hand on another column, its upgrade added both columns and failed on
    the index; the revision read as whole, and nothing was offered."""
    database = facts.database
    if database is None:
        return []
    clashing = []
    for state in partial.missing:
        operation = state.operation
        if operation.kind != "create_index" or not operation.table or not operation.name:
            continue
        live = database.table(operation.table, operation.schema)
        if live is not None and live.index(operation.name) is not None:
            clashing.append(operation)
    return clashing


def _split(qualified: str) -> tuple[str | None, str]:
    schema, _, name = qualified.rpartition(".")
    return (schema or None, name)
