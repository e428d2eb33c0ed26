"""clear-version-table: empty the version table (the classic forum advice, with its warning).

What it does
------------
Deletes every row of the version table, so that alembic believes nothing was applied. The next
upgrade then runs every migration from the start; where the project's tables still exist that
fails on the first of them, so stamping is usually the better repair (the plan says so, and which
stamp, when the schema matches a revision).

Risk
----
caution: it changes what alembic believes without touching the schema.

Undo
----
``migdoctor undo`` puts the deleted rows back, only while the version table is still empty as
the fix left it. No other table is touched.
"""

from __future__ import annotations

from migdoctor.facts.model import Facts
from migdoctor.findings import Risk
from migdoctor.operations.effects import creation_conflicts
from migdoctor.operations.schema_position import matching_revisions
from migdoctor.repair.plan import FixRequest, Plan, refused, version_table_change

FIX_ID = "clear-version-table"
NEEDS_DATABASE = True
RISK = Risk.CAUTION


def plan(facts: Facts, request: FixRequest) -> Plan:
    database = facts.database
    title = "Empty the version table"
    if database is None:
        return refused(FIX_ID, title, RISK, "clear-version-table needs the database.")
    if not database.version_rows:
        return refused(FIX_ID, title, RISK, f"{database.qualified_version_table} is already empty.")
    graph = facts.project.graph
    title = f"Empty {database.qualified_version_table}"
    warnings = [
        "The next upgrade re-runs every migration from the first one.",
    ]
    everything = list(reversed(graph.history()))
    conflicts = creation_conflicts(facts.recorded(everything), database)
    if conflicts:
        tables = ", ".join(dict.fromkeys(c.table for c in conflicts))
        warnings.append(
            f"Tables of this project exist ({tables}): that upgrade would fail on them."
        )
        matching = matching_revisions(facts)
        if matching:
            warnings.append(
                f"Recommended instead: {facts.fix_command('stamp', '--revision', matching[0])} "
                "(the live schema is exactly the schema at that revision)."
            )
    change = version_table_change(database, ())
    return Plan(
        fix=FIX_ID,
        title=title,
        risk=RISK,
        version_table=change,
        warnings=tuple(warnings),
    )
