"""stale-current: the database is behind the head revision(s).

What it detects
---------------
The version table (``alembic_version``) records a revision that is older than the head of the
migration scripts, or records nothing at all, so one or more revisions have not been applied
to this database. alembic then refuses ``alembic revision --autogenerate`` and
``alembic check`` with ``FAILED: Target database is not up to date.``

Why it matters
--------------
Autogenerate compares the models with a database that is missing migrations, so it would write
a revision that repeats them. The application's code expects the newest schema and fails on
missing tables or columns.

How to fix
----------
Apply the pending revisions: ``migdoctor fix upgrade`` (or ``migdoctor upgrade``), which checks
first that the upgrade will not fail. When a pending revision creates a table that already
exists, the ``table-exists`` finding explains the safe way through instead; when the next
revision was applied half way, ``partial-migration`` does; when the version table holds a
revision together with its ancestor, alembic refuses to upgrade until ``version-table-overlap``
is repaired. When the live schema differs from the version table's revision on a column that a
pending revision alters or drops (a type changed by hand, a downgrade that left it behind), the
finding names it (evidence ``schema_differs``) and offers the upgrade without recommending it:
the ``ALTER`` written for the history's column may fail on the live one.
"""

from __future__ import annotations

from migdoctor.checks import check, require_known_current, require_no_run_in_progress
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, FixOption, Severity
from migdoctor.fixes.options import fix_option, verified_stamp_option
from migdoctor.operations.schema_position import comparison_with, matching_revisions
from migdoctor.operations.upgrade_blockers import upgrade_blockers

SLUG = "stale-current"
CODE = "MD101"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=True,
    healthy="the database is at the head revision(s)",
    reads_tables=OPERATION_TABLES,
)
def database_behind_head(facts: Facts) -> list[Finding]:
    require_known_current(facts)
    require_no_run_in_progress(facts)
    database = facts.database
    pending = facts.pending
    if database is None or not pending:
        return []
    graph = facts.project.graph
    current = list(database.version_rows)
    pending_evidence = [
        {
            "revision": r,
            "message": graph.scripts[r].doc,
            "path": facts.project.relative(graph.scripts[r].path),
        }
        for r in pending
    ]
    if current:
        where = "is at " + ", ".join(current)
    elif database.version_table_exists:
        where = f"has an empty {database.qualified_version_table} table"
    else:
        where = f"has no {database.qualified_version_table} table"
    count = len(pending)
    heads = (
        f"heads are {', '.join(graph.heads)}"
        if len(graph.heads) > 1
        else f"head is {', '.join(graph.heads)}"
    )
    message = (
        f"The database {where}; the scripts' {heads}. "
        f"{count} revision{'s' if count != 1 else ''} not applied yet: "
        + ", ".join(item["revision"] for item in pending_evidence[:5])
        + (f" and {count - 5} more." if count > 5 else ".")
    )
    fixes: tuple[FixOption, ...] = ()
    blockers = upgrade_blockers(facts)
    differing = altered_where_schema_differs(facts)
    if blockers:
        message += " " + blockers[0].sentence
        verified = next((r for r in reversed(pending) if r in matching_revisions(facts)), None)
        if blockers[0].checks == (SLUG,) and verified is not None:
            # its own blocker (a column added again), over a schema that is a pending
            # revision's: what ran is recorded by a stamp, as table-exists offers for a table
            message += f" The live schema is exactly the schema at revision {verified}."
            fixes = (
                verified_stamp_option(
                    facts, verified, f"Record {verified} as applied without running it"
                ),
            )
    else:
        why = "runs exactly what alembic upgrade heads would, after a preflight"
        if differing:
            shown = "; ".join(f"{words} ({revision} alters it)" for words, revision in differing)
            message += (
                f" The live schema is not the schema at {', '.join(current)} where the pending "
                f"revisions change it: {shown}. They were written for the schema the history "
                "describes, and may fail or do something else here."
            )
            why += "; compare the columns that differ first (see the message)"
        fixes = (
            fix_option(
                facts,
                "upgrade",
                f"Apply the {count} pending revision{'s' if count != 1 else ''}",
                why=why,
                recommended=not differing,
            ),
        )
    return [
        Finding(
            check=SLUG,
            code=CODE,
            severity=Severity.ERROR,
            title="The database is behind the head revision",
            message=message,
            evidence={
                "current": current,
                "heads": list(graph.heads),
                "pending": pending_evidence,
                **(
                    {
                        "schema_differs": [
                            {"difference": words, "altered_by": revision}
                            for words, revision in differing
                        ]
                    }
                    if differing and not blockers
                    else {}
                ),
            },
            fixes=fixes,
            # the next revision upgrade would run
            locations=facts.project.revision_locations(pending[:1]),
        )
    ]


# what a pending operation on a column presumes of it: its type, nullability, default, existence
_COLUMN_OPERATIONS = ("alter_column", "drop_column")


def altered_where_schema_differs(facts: Facts) -> list[tuple[str, str]]:
    """The differences between the live schema and the version table's revision on columns a
    pending revision alters or drops (the words, and the first revision that does), as alembic's
    comparison with the schema the history describes found them.

    ihatemoney (github.com/spiral-project/ihatemoney) left this on PostgreSQL: its downgrade
    made a column VARCHAR that the history has as an ENUM, and the upgrade then failed on it
    ("cannot be cast automatically") while the upgrade was offered as safe."""
    database = facts.database
    if database is None or not database.version_rows:
        return []
    comparison = comparison_with(facts, database.version_rows)
    if comparison is None or comparison.error or not comparison.differences:
        return []
    changed: dict[tuple[str | None, str], str] = {}
    for recorded in facts.recorded(facts.pending or ()):
        for operation in recorded.operations:
            if operation.kind in _COLUMN_OPERATIONS and operation.columns:
                key = (operation.qualified_table, operation.columns[0])
                changed.setdefault(key, recorded.revision)
    return [
        (difference.words, changed[(difference.table, difference.name)])
        for difference in comparison.differences
        if (difference.table, difference.name) in changed
    ]
