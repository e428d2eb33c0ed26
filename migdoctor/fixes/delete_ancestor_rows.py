"""delete-ancestor-rows: delete version-table rows that are ancestors of other rows.

What it does
------------
Deletes the redundant rows of the version table: alembic reads the newest rows as the current
revision already and refuses to migrate while the ancestors are there. The live schema is
compared with everything up to the newer rows first: when it does not show their tables and
columns, the plan warns that the newer row may be the wrong one.

Risk
----
caution: it changes only the version table's rows, no schema and no belief of alembic's about
the current revision; if the newer row was the mistake, ``stamp`` to the older one is the repair.

Undo
----
``migdoctor undo`` puts the deleted rows back, only while the version table still holds what the
fix left. No other table is touched.
"""

from __future__ import annotations

from migdoctor.facts.model import Facts
from migdoctor.findings import Risk
from migdoctor.operations.effects import schema_mismatches
from migdoctor.repair.plan import FixRequest, Plan, refused, version_table_change

FIX_ID = "delete-ancestor-rows"
NEEDS_DATABASE = True
RISK = Risk.CAUTION


def plan(facts: Facts, request: FixRequest) -> Plan:
    database = facts.database
    title = "Delete version-table rows that are ancestors of other rows"
    if database is None:
        return refused(FIX_ID, title, RISK, "delete-ancestor-rows needs the database.")
    overlaps = facts.version_overlaps
    if not overlaps:
        return refused(
            FIX_ID,
            title,
            RISK,
            f"No row of {database.qualified_version_table} is an ancestor of another: "
            "nothing to delete.",
        )
    graph = facts.project.graph
    redundant = list(dict.fromkeys(ancestor for ancestor, _ in overlaps))
    kept = tuple(row for row in database.version_rows if row not in redundant)
    title = f"Delete {', '.join(redundant)} from {database.qualified_version_table}"

    oldest_first = list(reversed(graph.history()))
    applied = graph.ancestors(row for row in kept if row in graph)
    missing = schema_mismatches(facts.recorded(r for r in oldest_first if r in applied), database)
    warnings = [
        "No migration runs and no table changes: only the redundant rows are deleted; "
        f"alembic then reads {', '.join(kept)} as current, as it does already."
    ]
    if missing:
        newer = ", ".join(dict.fromkeys(d for _, d in overlaps))
        older = overlaps[0][0]
        warnings.append(
            f"The schema does not show everything up to {newer}: "
            + ", ".join(missing[:8])
            + (" …" if len(missing) > 8 else "")
            + f". The database may really be at {older}; then "
            f"{facts.fix_command('stamp', '--revision', older)} is the repair."
        )
    unrecorded = [r for r in applied if r not in facts.operations]
    if unrecorded:
        warnings.append(
            f"{len(unrecorded)} revision(s) could not be compared with the schema "
            "(their operations are unknown)."
        )
    change = version_table_change(database, kept)
    return Plan(
        fix=FIX_ID,
        title=title,
        risk=RISK,
        version_table=change,
        warnings=tuple(warnings),
    )
