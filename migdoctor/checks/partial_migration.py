"""partial-migration: the next pending revision was applied half way.

What it detects
---------------
The revision ``alembic upgrade`` would run next is partly visible in the live schema: some of
its operations have taken effect (a table it creates exists, a column it adds is there) while
others have not (an index it creates is missing), and the version table still names the
revision before it. Only where a failed run can leave part of a revision behind: MySQL,
MariaDB and SQLite (alembic runs their DDL outside a transaction), or operations inside
``op.get_context().autocommit_block()``. On PostgreSQL a failed revision is rolled back whole,
so a revision partly visible there is reported by ``table-exists`` (created outside the
migrations), as is one whose visible operations are not a beginning of it (an operation shows
while one before it does not: no run stopping half way leaves that). A live schema that
alembic's comparison finds equal to the current revision's schema (or to the next one's) is
never called half applied, whatever names it shares with the next revision (a rename back to an
old name, say). Each operation is compared with the schema
on its own (an index by its name and its columns: one of the name on other columns is not the
revision's); operations whose effect a schema cannot show (raw SQL, foreign keys, data) are
placed by their order, since a failed run stops at one operation: those before a visible one
ran, those after a missing one did not.

Why it matters
--------------
This is what a failed upgrade leaves on MySQL and MariaDB, whose DDL statements commit one by
one and cannot be rolled back: the revision stopped half way, and every retry now fails on its
first operation (error 1050 "table already exists", 1060 "duplicate column", 1061 "duplicate
key name"). Stamping it hides the missing part for ever; dropping what ran by hand and
retrying works only if the cause of the failure was fixed.

How to fix
----------
First fix what made the revision fail (the check reads the revision file as it is now). Then
``migdoctor fix complete-revision`` runs only the missing operations of that revision, through
alembic's own operations on env.py's connection and under the migration lock, and records the
revision in the version table; ``migdoctor undo`` reverses exactly what it ran. When the missing
operations are not wanted, ``stamp --revision REV --force`` records the revision without them.
While a revision is applied half way, ``table-exists`` does not report it: this check is the
diagnosis, and ``stale-current`` points here.
"""

from __future__ import annotations

from migdoctor.checks import check, require_known_current, require_no_run_in_progress
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.facts.operations import RECORDED
from migdoctor.findings import Finding, FixOption, Severity
from migdoctor.fixes.options import fix_option
from migdoctor.operations.effects import Visibility
from migdoctor.operations.partial_application import (
    OperationState,
    PartialApplication,
    clashing_indexes,
    next_revision_partly_applied,
)

SLUG = "partial-migration"
CODE = "MD107"

# what the retry of a revision stops on, by the kind of its first operation that already ran
RETRY_ERRORS = {
    "create_table": "table already exists",
    "add_column": "duplicate column",
    "create_index": "index already exists",
    "rename_table": "table does not exist",
    "drop_table": "unknown table",
    "drop_column": "column does not exist",
}


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=True,
    healthy="no pending revision is applied half way",
    reads_tables=OPERATION_TABLES,
)
def revision_applied_half_way(facts: Facts) -> list[Finding]:
    require_known_current(facts)
    require_no_run_in_progress(facts)
    database = facts.database
    partial = next_revision_partly_applied(facts)
    if database is None or partial is None or not partial.half_applied_possible:
        # where a failed revision is rolled back whole, what shows was made outside the
        # migrations: table-exists tells that story
        return []
    graph = facts.project.graph
    revision = partial.revision
    script = graph.scripts[revision]
    applied, missing, ambiguous = partial.applied, partial.missing, partial.ambiguous
    where = ", ".join(database.version_rows) or "nothing"
    first_visible = next(s for s in applied if s.visibility == Visibility.VISIBLE).operation
    retry_error = RETRY_ERRORS.get(first_visible.kind, "it already ran")
    message = (
        f"Revision {revision} ({script.doc or 'no message'}) was applied half way: "
        f"{_operations_phrase(applied)} {'has' if len(applied) == 1 else 'have'} taken effect, "
        f"{_operations_phrase(missing)} {'has' if len(missing) == 1 else 'have'} not, and the "
        f"version table still says {where}. A failed upgrade leaves this where DDL cannot be "
        f"rolled back ({database.server_version.name} here); a retry stops on "
        f"{first_visible.describe()} "
        f"({retry_error}). The other reading: these objects were created outside the "
        "migrations (by hand, or by metadata.create_all()); the repair is the same."
    )
    if ambiguous:
        message += (
            " Whether "
            + "; ".join(state.operation.describe() for state in ambiguous)
            + " ran cannot be told from the schema."
        )
    recorded = facts.operations[revision]
    evidence = {
        "revision": revision,
        "message": script.doc,
        "path": facts.project.relative(script.path),
        "current": list(database.version_rows),
        "operations": [state_evidence(state, partial) for state in partial.states],
        "operations_read": recorded.method,
    }
    if recorded.note:
        evidence["note"] = recorded.note
    return [
        Finding(
            check=SLUG,
            code=CODE,
            severity=Severity.ERROR,
            title="A pending revision was applied half way",
            message=message,
            evidence=evidence,
            fixes=tuple(partial_fixes(facts, partial, recorded.method == RECORDED)),
            locations=facts.project.revision_locations([revision]),
        )
    ]


def partial_fixes(facts: Facts, partial: PartialApplication, re_runnable: bool) -> list[FixOption]:
    revision = partial.revision
    missing = partial.missing
    fixes = []
    if re_runnable and not partial.ambiguous:
        clashing = clashing_indexes(facts, partial)
        why = "what already ran is left as it is; undo reverses exactly what this runs"
        if clashing:
            why = "first drop or rename the index of the same name on other columns: " + ", ".join(
                f"{op.name} on {op.table}" for op in clashing
            )
        fixes.append(
            fix_option(
                facts,
                "complete-revision",
                f"Run only the {len(missing)} missing operation"
                f"{'s' if len(missing) != 1 else ''} of {revision}, then record it",
                why=why,
                recommended=not clashing,
                revision=revision,
            )
        )
    fixes += [
        fix_option(
            facts,
            "stamp",
            f"Record {revision} as applied, leaving its missing operations undone",
            why="only when the missing operations are not wanted on this database",
            revision=revision,
            flags=("--force",),
        ),
        fix_option(
            facts,
            "neuter-upgrade",
            f"Replace the body of {revision}'s upgrade() with pass",
            why="a fresh database built from the history would then lack all it creates",
            revision=revision,
        ),
    ]
    return fixes


def state_evidence(state: OperationState, partial: PartialApplication) -> dict[str, str]:
    if state in partial.applied:
        words = "applied" if state.visibility == Visibility.VISIBLE else "ran (by its order)"
    elif state in partial.missing:
        words = "not applied" if state.visibility == Visibility.MISSING else "not run (by order)"
    else:
        words = "cannot tell"
    return {"operation": state.operation.describe(), "state": words}


def _operations_phrase(states: tuple[OperationState, ...]) -> str:
    described = [state.operation.describe() for state in states]
    if len(described) > 3:
        described = [*described[:3], f"{len(states) - 3} more"]
    return "; ".join(described)
