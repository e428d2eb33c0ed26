"""Which revision the live schema is at: alembic's comparison of the live schema with the schema
at every revision, as the capture measured it (``database/schema_history.py``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from migdoctor.facts.model import Facts, RevisionSchemaComparison
from migdoctor.facts.operations import Operation, unread_words
from migdoctor.operations.effects import (
    Visibility,
    describe_expectation,
    net_effects_missing,
    net_effects_shown,
    operation_visibility,
    table_key,
)

# operations on rows, which no schema shows (a data migration is never visible)
DATA_OPERATIONS = ("execute", "bulk_insert")


def comparison_with(facts: Facts, revisions: Sequence[str]) -> RevisionSchemaComparison | None:
    """alembic's comparison of the live schema with the schema at ``revisions``, when the
    capture made it."""
    database = facts.database
    if database is None or database.schema_history is None:
        return None
    return database.schema_history.comparison(revisions)


def matching_revisions(facts: Facts) -> tuple[str, ...]:
    """The revisions a stamp may name: their schema the live one equals by alembic's
    comparison, without resting on tables the history cannot know (newest first).

    Where the comparison leaves tables out (their shape unknown to the history: raw SQL, a
    revision read from its source, tables only the application creates), a revision is offered
    only when the live schema shows there the net changes of the revisions a stamp would take
    as run (an added column is there, a dropped one is not), and each change of those after
    the oldest match; one it cannot show (a type changed) is not taken on trust there. mealie
    (github.com/mealie-recipes/mealie) reads its first revision from its source: a stamp at
    its head was recommended over a database without the column its head adds."""
    database = facts.database
    if database is None or database.schema_history is None:
        return ()
    history = database.schema_history
    stampable = history.stampable
    if not stampable:
        return ()
    graph = facts.project.graph
    oldest_first = list(reversed(graph.history()))
    known_rows = [row for row in database.version_rows if row in graph]
    applied = (
        graph.ancestors(known_rows) if len(known_rows) == len(database.version_rows) else set()
    )
    before_oldest_match = graph.ancestors(history.matching[-1:])

    def shown(revision: str, unknown: set[str]) -> bool:
        """Whether the live schema shows what a stamp at ``revision`` takes as run, on the
        tables the comparison leaves out: the net changes of every revision after the version
        table's (JupyterHub makes all its tables with create_all(), so its matches rest on
        nothing but such tables), and each change of a revision after the oldest match, even
        one the schema cannot show (a type changed), is not taken on trust."""
        taken = graph.ancestors((revision,)) - applied
        if any(r not in facts.operations for r in taken):
            return False
        changes = {
            r: [
                operation
                for operation in facts.operations[r].operations
                if operation.kind not in DATA_OPERATIONS and _changes(operation, unknown)
            ]
            for r in oldest_first
            if r in taken
        }
        if net_effects_missing([o for r in changes for o in changes[r]], database):
            return False
        # and the revisions after it the stamp leaves to run (or takes back, behind the version
        # table's): each must visibly not have run there
        after = graph.descendants([revision], include_self=False)
        for undone in after | (applied - graph.ancestors((revision,))):
            operations = (
                [
                    o
                    for o in facts.operations[undone].operations
                    if o.kind not in DATA_OPERATIONS and _changes(o, unknown)
                ]
                if undone in facts.operations
                else None
            )
            if operations is None:
                return False
            if operations and not any(
                operation_visibility(o, database) == Visibility.MISSING for o in operations
            ):
                return False
        return all(
            operation_visibility(operation, database) == Visibility.VISIBLE
            for r in changes
            if r not in before_oldest_match
            for operation in changes[r]
        )

    kept = []
    for revision in stampable:
        comparison = history.comparison((revision,))
        unknown = set(comparison.uncertain_tables) if comparison is not None else set()
        if not unknown or shown(revision, unknown):
            kept.append(revision)
    return tuple(kept)


def data_changes_skipped(facts: Facts, revision: str) -> list[str]:
    """What the revisions a stamp at ``revision`` takes as run do to data, which no schema
    shows, so a stamp skips it unseen: their bulk inserts and raw SQL, oldest first.
    PowerDNS-Admin (github.com/ngoduykhanh/PowerDNS-Admin): its first revision creates the
    tables, then seeds the roles and settings; its upgrade failed on the seed, the tables
    stayed, and a stamp was recommended over tables without a role."""
    database = facts.database
    if database is None:
        return []
    graph = facts.project.graph
    known_rows = [row for row in database.version_rows if row in graph]
    applied = graph.ancestors(known_rows)
    taken = graph.ancestors((revision,)) - applied
    return [
        f"{r}: {operation.describe()}"
        for r in reversed(graph.history())
        if r in taken and r in facts.operations
        for operation in facts.operations[r].operations
        if operation.kind in DATA_OPERATIONS
    ]


def unread_revisions(facts: Facts, revisions: Iterable[str]) -> tuple[str, ...]:
    """The revisions up to ``revisions`` (every revision when none is given) whose source could
    not be read in full (``RevisionOperations.unread``), newest first: the history cannot say
    what they did to the schema."""
    graph = facts.project.graph
    wanted = tuple(revisions)
    upto = graph.ancestors(wanted) if wanted else set(graph.scripts)
    return tuple(
        r
        for r in graph.history()
        if r in upto and r in facts.operations and facts.operations[r].unread
    )


def unread_behind(facts: Facts, revision: str) -> tuple[str, ...]:
    """The revisions whose unread source may be why the live schema is not verified as the
    schema at ``revision`` (see ``unread_revisions``): none when every difference is on a table
    a revision after the newest of them created (they ran before it existed)."""
    unread = unread_revisions(facts, [revision])
    if not unread:
        return ()
    comparison = comparison_with(facts, (revision,))
    differences = comparison.differences if comparison is not None else ()
    graph = facts.project.graph
    later = graph.ancestors([revision]) & graph.descendants([unread[0]], include_self=False)
    created = {
        table
        for r in later
        if r in facts.operations
        for operation in facts.operations[r].operations
        if operation.kind in ("create_table", "rename_table")
        for table in (
            operation.qualified_table if operation.kind == "create_table" else _renamed(operation),
        )
        if table is not None
    }
    if differences and all(difference.table in created for difference in differences):
        return ()
    return unread


def unread_sentence(facts: Facts, unread: Sequence[str]) -> str:
    """Which revisions could not be read in full, and what of them (the first one's)."""
    first = unread_words(facts.operations[unread[0]].unread)
    listed = ", ".join(unread[:3]) + (f" and {len(unread) - 3} more" if len(unread) > 3 else "")
    plural = len(unread) > 1
    what = f"{unread[0]}: {first}" if plural else first
    return (
        f"Revision{'s' if plural else ''} {listed} could not be read in full from "
        f"{'their' if plural else 'its'} source ({what}), so the history cannot say which "
        f"tables {'they' if plural else 'it'} changed"
    )


def changes_not_shown(facts: Facts, revision: str) -> list[str]:
    """What stands between the live schema and a stamp at ``revision``, on the tables alembic's
    comparison leaves out (their shape unknown to the history), in words: the net effects of
    the revisions a stamp takes as run that the schema does not show ("column member.nickname
    (expected gone)"), and those of the revisions it leaves to run that the schema already
    shows ("column member.email is there already, though a revision after a4bio makes it").
    JupyterHub (github.com/jupyterhub/jupyterhub): after a failed re-run of its revisions over
    the tables its application made, the columns that re-run added are what is left to undo."""
    database = facts.database
    comparison = comparison_with(facts, (revision,))
    if database is None or comparison is None or not comparison.uncertain_tables:
        return []
    unknown = set(comparison.uncertain_tables)
    graph = facts.project.graph
    oldest_first = list(reversed(graph.history()))
    known_rows = [row for row in database.version_rows if row in graph]
    applied = graph.ancestors(known_rows)
    taken = graph.ancestors((revision,)) - applied

    def changes(revisions: set[str]) -> list[Operation]:
        return [
            operation
            for r in oldest_first
            if r in revisions and r in facts.operations
            for operation in facts.operations[r].operations
            if operation.kind not in DATA_OPERATIONS and _changes(operation, unknown)
        ]

    missing = [
        describe_expectation(expectation, present)
        for expectation, present in net_effects_missing(changes(taken), database)
    ]
    left_to_run = graph.descendants([revision], include_self=False) - applied
    later = changes(left_to_run)
    created = {
        table_key(database, o.schema, o.table)
        for o in later
        if o.kind == "create_table" and o.table is not None
    }
    already = [
        f"{describe_expectation(expectation, True)} is "
        + ("there" if present else "gone")
        + f" already, though a revision after {revision} "
        + ("makes it" if present else "removes it")
        for expectation, present in net_effects_shown(later, database)
        # a later change to a table shows only that the table is there, not that it ran
        if expectation[0] != "table" or expectation[1] in created
    ]
    return missing + already


def _changes(operation: Operation, tables: set[str]) -> bool:
    """Whether ``operation`` changes one of ``tables`` (a rename: to one of them too)."""
    return operation.qualified_table in tables or (
        operation.kind == "rename_table" and _renamed(operation) in tables
    )


def _renamed(operation: Operation) -> str | None:
    if operation.name is None:
        return None
    return f"{operation.schema}.{operation.name}" if operation.schema else operation.name


# the differences from the closest revision the report's header names (JSON has them all)
SHOWN_DIFFERENCES = 2


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
    # how the live schema differs from the closest revision, in words (when it matches none)
    closest_differences: tuple[str, ...] = ()
    # revisions the comparison finds equal only by leaving out tables whose shape the history
    # does not know, and whose changes there the live schema does not show (no stamp names them)
    unverified: tuple[str, ...] = ()
    # when it matches no revision it can verify: why the history cannot be sure (a revision
    # whose source could not be read in full, see ``unread_sentence``)
    unread: str | None = None

    def words(self) -> str:
        if self.unknown:
            return f"cannot tell which revision it is at ({self.unknown})"
        if self.error and not self.matches:
            return f"cannot compare with revision {self.closest} ({self.error})"
        unverified = ""
        if self.unverified:
            plural = "s" if len(self.unverified) > 1 else ""
            unverified = (
                f"revision{plural} {', '.join(self.unverified)} only by leaving out tables whose "
                "shape the history does not know (there, the live schema is not what they "
                "leave)"
            )
        if self.matches:
            listed = ", ".join(self.matches)
            note = " (the version table's)" if self.current_matches else ""
            plural = "s" if len(self.matches) > 1 else ""
            also = f"; {unverified}" if unverified else ""
            return f"matches revision{plural} {listed}{note}{also}"
        why = f"; {self.unread[:1].lower()}{self.unread[1:]}" if self.unread else ""
        if unverified:
            return f"matches {unverified}{why}"
        if self.closest:
            count = f"{self.differences} difference{'s' if self.differences != 1 else ''}"
            shown = self.closest_differences[:SHOWN_DIFFERENCES]
            if shown:
                more = len(self.closest_differences) - len(shown)
                count += ": " + "; ".join(shown) + (f"; and {more} more" if more else "")
            return f"matches no revision; closest {self.closest} ({count}){why}"
        return f"matches no revision{why}"

    def as_evidence(self) -> dict[str, object]:
        return {
            "matches": list(self.matches),
            "current_matches": self.current_matches,
            "closest": self.closest,
            "differences": self.differences,
            "unknown": self.unknown,
            "error": self.error,
            "closest_differences": list(self.closest_differences),
            "unverified_matches": list(self.unverified),
            "unread": self.unread,
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
    # the header names a match only as a stamp would: JupyterHub's tables are all made by
    # create_all(), so revisions whose changes never ran there "matched" by leaving them out
    verified = set(matching_revisions(facts))
    if current_matches:
        verified.update(database.version_rows)
    matches = tuple(r for r in history.matching if r in verified)
    unverified = tuple(r for r in history.matching if r not in verified)
    if current_matches and not matches:
        matches = tuple(database.version_rows)
    tied = matches or unverified or history.closest()
    # among revisions as close as each other, the version table's own comes first
    closest = next((r for r in tied if r in database.version_rows), next(iter(tied), None))
    comparison = history.comparison((closest,)) if closest else None
    unread = unread_behind(facts, closest) if closest else ()
    return SchemaPosition(
        matches=matches,
        current_matches=current_matches,
        closest=closest,
        differences=len(comparison.differences) if comparison is not None else 0,
        error=comparison.error if comparison is not None else None,
        closest_differences=tuple(d.words for d in comparison.differences)
        if comparison is not None and not matches
        else (),
        unverified=unverified,
        unread=unread_sentence(facts, unread) if unread and not matches else None,
    )
