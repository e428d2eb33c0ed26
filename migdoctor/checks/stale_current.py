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
is repaired.
"""

from __future__ import annotations

from migdoctor.checks import check, require_known_current, require_no_run_in_progress
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, FixOption, Severity
from migdoctor.fixes.options import fix_option
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
    message = (
        f"The database {where}; the scripts' head is {', '.join(graph.heads)}. "
        f"{count} revision{'s' if count != 1 else ''} not applied yet: "
        + ", ".join(item["revision"] for item in pending_evidence[:5])
        + (" …" if count > 5 else "")
        + "."
    )
    fixes: tuple[FixOption, ...] = ()
    blockers = upgrade_blockers(facts)
    if blockers:
        message += " " + blockers[0].sentence
    else:
        fixes = (
            fix_option(
                facts,
                "upgrade",
                f"Apply the {count} pending revision{'s' if count != 1 else ''}",
                why="runs exactly what alembic upgrade heads would, after a preflight",
                recommended=True,
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
            },
            fixes=fixes,
            # the next revision upgrade would run
            locations=facts.project.revision_locations(pending[:1]),
        )
    ]
