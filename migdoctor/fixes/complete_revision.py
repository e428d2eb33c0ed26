"""complete-revision: run only the missing operations of a revision applied half way, then
record it in the version table.

What it does
------------
The revision's ``upgrade()`` is recorded again when the plan is applied (the file must not have
changed since the plan), and only the operations the schema does not show are invoked, through
a real ``alembic.operations.Operations`` on env.py's connection, under the migration lock; the
version row follows in the same transaction where the database has transactional DDL.

Risk
----
caution: it runs part of a migration that failed before; fix what made it fail first.

Undo
----
``migdoctor undo`` runs the inverse of each operation it ran (alembic's own ``reverse()``: a
created index is dropped, an added column dropped, a created table dropped), newest first, and
puts the version rows back. What the failed upgrade had applied before is left alone, so undo
restores exactly the half-applied state. Operations without a safe inverse (raw SQL, data,
changes of a column) make undo refuse, and the plan says so before anything runs; undo also
refuses when the revision file or the version table changed since.
"""

from __future__ import annotations

from migdoctor.facts.model import Facts
from migdoctor.facts.operations import RECORDED, Operation
from migdoctor.findings import Risk
from migdoctor.operations.partial_application import (
    PartialApplication,
    clashing_indexes,
    next_revision_partly_applied,
)
from migdoctor.repair.journal import sha256
from migdoctor.repair.plan import (
    FixRequest,
    Plan,
    RevisionCompletion,
    refused,
    version_table_change,
)

FIX_ID = "complete-revision"
NEEDS_DATABASE = True
RISK = Risk.CAUTION

# operation kind -> what undo does to take it back (alembic's reverse() of the operation)
REVERSIBLE = {
    "create_table": "drop table",
    "add_column": "drop column",
    "create_index": "drop index",
    "create_foreign_key": "drop constraint",
    "create_unique_constraint": "drop constraint",
    "create_check_constraint": "drop constraint",
    "create_primary_key": "drop constraint",
}
# undoing these loses rows written since: the plan says so
LOSES_DATA = ("create_table", "add_column")


def plan(facts: Facts, request: FixRequest) -> Plan:
    database = facts.database
    title = "Run the missing operations of a revision applied half way, then record it"
    if database is None:
        return refused(FIX_ID, title, RISK, "complete-revision needs the database.")
    if facts.unknown_current:
        return refused(
            FIX_ID,
            title,
            RISK,
            f"The version table names {', '.join(facts.unknown_current)}, which no script "
            "defines (see unknown-revision).",
        )
    partial = next_revision_partly_applied(facts)
    if partial is None:
        return refused(
            FIX_ID,
            title,
            RISK,
            "No pending revision is applied half way: the next one shows either all of its "
            "operations in the schema or none (see migdoctor check).",
        )
    graph = facts.project.graph
    revision = partial.revision
    if request.revision:
        try:
            named = graph.resolve(request.revision)
        except LookupError as error:
            return refused(FIX_ID, title, RISK, f"{error}.")
        if named != (revision,):
            return refused(
                FIX_ID,
                title,
                RISK,
                f"{request.revision} is not the revision applied half way: that is {revision}.",
            )
    script = graph.scripts[revision]
    title = f"Complete {revision} ({script.doc or 'no message'}): run its missing operations"
    recorded = facts.operations[revision]
    if recorded.method != RECORDED:
        return refused(
            FIX_ID,
            title,
            RISK,
            f"The operations of {revision} could only be read from its source "
            f"({recorded.note}); migdoctor runs only operations it recorded from upgrade().",
        )
    if partial.ambiguous:
        return refused(
            FIX_ID,
            title,
            RISK,
            "Whether "
            + "; ".join(state.operation.describe() for state in partial.ambiguous)
            + " ran cannot be told from the schema: finish the revision by hand, then "
            f"{facts.fix_command('stamp', '--revision', revision)}.",
        )
    clashing = clashing_indexes(facts, partial)
    if clashing:
        # microblog (github.com/miguelgrinberg/microblog), 834b1a697901 on MariaDB: the
        # completion ran into the index of the same name made by hand on another column
        return refused(
            FIX_ID,
            title,
            RISK,
            "An index of the name already exists on other columns: "
            + "; ".join(
                f"{op.name} on {op.table}, which {op.describe()} makes again" for op in clashing
            )
            + ". The completion would fail on it: drop or rename that index first (see the "
            "schema differences in migdoctor check).",
        )
    known_current = [row for row in database.version_rows if row in graph]
    ancestors = graph.ancestors([revision])
    rows_after = tuple(
        dict.fromkeys([row for row in known_current if row not in ancestors] + [revision])
    )
    change = version_table_change(database, rows_after)
    completion = RevisionCompletion(
        revision=revision,
        path=script.path,
        file_sha256=sha256(script.path.read_bytes()) or "",
        run=tuple((s.index, s.operation.describe()) for s in partial.missing),
        skip=tuple((s.index, s.operation.describe()) for s in partial.applied),
        version_table=change,
        undo_refusal=undo_refusal([state.operation for state in partial.missing]),
    )
    return Plan(
        fix=FIX_ID,
        title=title,
        risk=RISK,
        completion=completion,
        warnings=tuple(_warnings(facts, partial)),
        arguments={"revision": revision},
    )


def _warnings(facts: Facts, partial: PartialApplication) -> list[str]:
    database = facts.database
    assert database is not None
    to_run = [state.operation for state in partial.missing]
    if partial.half_applied_possible:
        first = (
            "What already ran is left as it is; fix the cause of the failure in the revision "
            "file first (the operations are recorded from the file as it is now)."
        )
    else:
        # full-stack-fastapi-template on PostgreSQL, a column of the pending revision added by
        # hand: no run failed, what shows was made outside the migrations
        first = (
            "What is already in the schema (made outside the migrations: no failed run leaves "
            "it) is left as it is; the operations are recorded from the revision file as it is "
            "now."
        )
    warnings = [first]
    if database.dialect in ("mysql", "mariadb"):
        warnings.append(
            "MySQL cannot roll back DDL: if one of these operations fails, those before it stay "
            "applied and migdoctor check shows the new state."
        )
    warnings.append(undo_words(to_run))
    return warnings


def undo_refusal(operations: list[Operation]) -> str | None:
    """Why ``migdoctor undo`` could not take these operations back, or None."""
    irreversible = [op.describe() for op in operations if op.kind not in REVERSIBLE]
    if not irreversible:
        return None
    return (
        f"{'; '.join(irreversible)} {'has' if len(irreversible) == 1 else 'have'} no safe "
        "inverse, so migdoctor undo cannot take complete-revision back."
    )


def undo_words(operations: list[Operation]) -> str:
    """What ``migdoctor undo`` would do to these operations, or why it cannot."""
    refusal = undo_refusal(operations)
    if refusal:
        return refusal + " (undo will refuse)"
    undone = "; ".join(f"{REVERSIBLE[op.kind]} ({op.describe()})" for op in reversed(operations))
    loses = any(op.kind in LOSES_DATA for op in operations)
    return f"migdoctor undo would {undone}, then restore the version rows" + (
        ", losing rows written there since." if loses else "."
    )
