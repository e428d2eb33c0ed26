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

When the upgrade would fail on what is already there (a column it adds again, as after a re-run
that failed half way over tables the application made itself) and no revision's schema is
verifiably the live one, the finding still names the next step: the revision the live schema
matches wherever the history knows the tables, what it does not show there (the half-run's
leftovers, to complete or take back by hand), and a stamp of that revision, not recommended (it
compares first, refuses on a difference, and ``migdoctor undo`` takes it back; at the head,
``schema-drift`` then compares the whole schema with the models). When no revision matches, it
names the closest one and its differences: make them match, then stamp it.
"""

from __future__ import annotations

from migdoctor.checks import check, require_known_current, require_no_run_in_progress
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, FixOption, Severity
from migdoctor.fixes.options import fix_option, verified_stamp_option
from migdoctor.operations.schema_position import (
    changes_not_shown,
    comparison_with,
    matching_revisions,
    schema_position,
)
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
        elif blockers[0].checks == (SLUG,):
            sentence, fixes = _next_step_without_verified_stamp(facts)
            message += " " + sentence
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


# the tables and differences a sentence names before "and N more"
SHOWN = 4


def _next_step_without_verified_stamp(facts: Facts) -> tuple[str, tuple[FixOption, ...]]:
    """What to do when the upgrade would fail on what is already there and no revision's schema
    is verifiably the live one: the revision the live schema shows, what stands between, and
    the stamp (which compares first, refuses on a difference, and ``undo`` takes back).

    JupyterHub (github.com/jupyterhub/jupyterhub) makes its tables with create_all(), then
    stamps; with its version table emptied, the upgrade failed half way on a column already
    there, and the finding said the upgrade would fail, offered nothing and named no step."""
    position = schema_position(facts)
    if position is None or position.unknown:
        why = f" ({position.unknown})" if position is not None and position.unknown else ""
        return (
            f"Which revision the live schema is at was not measured{why}: find the revision "
            "whose schema it shows, make the rest match, then record that revision with "
            "migdoctor fix stamp --revision REV, which compares the schema first and refuses "
            "on a difference.",
            (),
        )
    if position.unverified:
        # the revision the live schema shows best: fewest changes between (newest first)
        not_shown = {r: changes_not_shown(facts, r) for r in position.unverified}
        revision = min(position.unverified, key=lambda r: len(not_shown[r]))
        missing = not_shown[revision]
        comparison = comparison_with(facts, (revision,))
        unknown = list(comparison.uncertain_tables) if comparison is not None else []
        listed = ", ".join(unknown[:SHOWN]) + (
            f" and {len(unknown) - SHOWN} more" if len(unknown) > SHOWN else ""
        )
        at_head = revision in facts.project.graph.heads
        left = (
            f" There, the live schema and revision {revision} differ: "
            + "; ".join(missing[:SHOWN])
            + (f"; and {len(missing) - SHOWN} more" if len(missing) > SHOWN else "")
            + ". Make those match first, by hand or by completing what ran half way."
            if missing
            else ""
        )
        sentence = (
            f"The live schema matches revision {revision} wherever the history knows the "
            f"tables' shape; it cannot vouch for {listed or 'the tables the application makes'}"
            f", which the application makes itself (create_all()) or raw SQL shapes.{left} If "
            f"the application made them at {revision}, then record {revision} without running it"
            + (
                ": at the head, schema-drift then compares the whole schema with the models, "
                "and migdoctor undo takes the stamp back if they differ."
                if at_head
                else "; migdoctor undo takes the stamp back."
            )
        )
        why = (
            "the stamp compares the schema first and refuses on a difference; the tables "
            "the history does not know are not compared"
            + (": check schema-drift right after" if at_head else "")
        )
        return sentence, (
            fix_option(
                facts,
                "stamp",
                f"Record {revision} as applied without running it",
                why=why,
                revision=revision,
            ),
        )
    closest = position.closest
    if closest is None:
        return (
            "No revision's schema is close to the live one: compare them with migdoctor "
            "roundtrip or by hand before recording any.",
            (),
        )
    shown = "; ".join(position.closest_differences[:SHOWN])
    more = len(position.closest_differences) - SHOWN
    differing = f": {shown}" + (f"; and {more} more" if more > 0 else "") if shown else ""
    sentence = (
        f"The live schema is closest to revision {closest}'s ({position.differences} "
        f"difference{'s' if position.differences != 1 else ''}{differing}). Make those match "
        f"(complete or undo by hand what ran half way), then record {closest}: the stamp "
        "compares first and refuses while they differ."
    )
    return sentence, (
        fix_option(
            facts,
            "stamp",
            f"Record {closest} once the live schema matches it",
            why="refuses until alembic's comparison finds the live schema equal to "
            f"{closest}'s; make the differences in the message match first",
            revision=closest,
        ),
    )


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
