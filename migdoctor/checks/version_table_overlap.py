"""version-table-overlap: alembic_version holds a revision together with one of its ancestors.

What it detects
---------------
Two rows of the version table where one revision is an ancestor of the other (through
``down_revision`` or ``depends_on``). A version table holds one row per head of what was
applied, so an ancestor next to its own descendant says nothing the descendant does not already
say. alembic refuses to upgrade or downgrade from there with ``FAILED: Requested revision X
overlaps with other requested revisions Y``, while ``alembic current`` quietly shows only X.

Why it matters
--------------
No migration can run until the version table is repaired. The state comes from hand edits
(an ``INSERT`` into ``alembic_version`` to "mark" a revision), a restore that merged two copies
of the table, or tools that write the table without alembic's head bookkeeping. Deleting the
wrong row makes alembic re-run migrations, or skip them.

How to fix
----------
When the newer revision is right, the ancestor row is simply redundant:
``migdoctor fix delete-ancestor-rows`` deletes it, leaving what alembic itself reads as the
current revision (the plan compares the schema with everything up to the newer revision first).
When the database is really only at the ancestor and the newer row was written by mistake,
``migdoctor fix stamp --revision ANCESTOR`` keeps the ancestor instead, after checking that the
tables the newer revisions create do not exist. Pending revisions, as other checks report them,
are counted from the newest rows: what upgrade runs once the version table is repaired.
"""

from __future__ import annotations

from collections import deque

from migdoctor.checks import check
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, Severity
from migdoctor.fixes.options import fix_option
from migdoctor.project.graph import RevisionGraph

SLUG = "version-table-overlap"
CODE = "MD105"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=True,
    healthy="no revision in the version table is an ancestor of another",
    reads_tables=OPERATION_TABLES,
)
def version_rows_overlap(facts: Facts) -> list[Finding]:
    database = facts.database
    overlaps = facts.version_overlaps
    if database is None or not overlaps:
        return []
    graph = facts.project.graph
    redundant = list(dict.fromkeys(ancestor for ancestor, _ in overlaps))
    kept = [row for row in database.version_rows if row not in redundant]
    ancestor, descendant = overlaps[0]
    table = database.qualified_version_table
    message = (
        f"{table} holds {', '.join(database.version_rows)}. "
        + "; ".join(
            f"{a} ({graph.scripts[a].doc or 'no message'}) is an ancestor of {d} "
            f"({graph.scripts[d].doc or 'no message'})"
            for a, d in overlaps
        )
        + f", so the row{'s' if len(redundant) > 1 else ''} {', '.join(redundant)} "
        f"{'are' if len(redundant) > 1 else 'is'} redundant. alembic refuses to migrate from "
        f'here: "Requested revision {descendant} overlaps with other requested revisions '
        f'{ancestor}".'
    )
    evidence = {
        "version_table": table,
        "rows": list(database.version_rows),
        "overlaps": [
            {
                "ancestor": a,
                "descendant": d,
                "ancestor_message": graph.scripts[a].doc,
                "descendant_message": graph.scripts[d].doc,
                "lineage": lineage(graph, a, d),
            }
            for a, d in overlaps
        ],
        "redundant_rows": redundant,
        "rows_after_repair": kept,
    }
    fixes = [
        fix_option(
            facts,
            "delete-ancestor-rows",
            f"Delete the redundant row{'s' if len(redundant) > 1 else ''} "
            f"{', '.join(redundant)} from {table}",
            why=f"leaves {', '.join(kept)}, which is what alembic reads as current already",
            recommended=True,
        ),
        fix_option(
            facts,
            "stamp",
            f"Keep only {ancestor}: the database is really at the older revision",
            why=f"only when the {descendant} row was written by mistake; the plan checks that "
            "the tables of the newer revisions do not exist",
            revision=ancestor,
        ),
    ]
    return [
        Finding(
            check=SLUG,
            code=CODE,
            severity=Severity.ERROR,
            title="The version table holds a revision and one of its ancestors",
            message=message,
            evidence=evidence,
            fixes=tuple(fixes),
            locations=facts.project.revision_locations(redundant),
        )
    ]


def lineage(graph: RevisionGraph, ancestor: str, descendant: str) -> list[str]:
    """The revisions from ``ancestor`` up to ``descendant``, oldest first (one shortest path)."""
    came_from: dict[str, str | None] = {descendant: None}
    todo = deque([descendant])
    while todo:
        current = todo.popleft()
        if current == ancestor:
            break
        for parent in graph.parents(current):
            if parent not in came_from:
                came_from[parent] = current
                todo.append(parent)
    path = []
    step: str | None = ancestor if ancestor in came_from else None
    while step is not None:
        path.append(step)
        step = came_from[step]
    return path
