"""table-exists: a pending revision creates a table that already exists.

What it detects
---------------
A revision that has not been applied yet calls ``op.create_table`` for a table the database
already has. ``alembic upgrade head`` would stop on it with "table already exists" (MySQL error
1050, PostgreSQL ``DuplicateTable``, SQLite "table ... already exists"). It covers a table
created by hand or by ``metadata.create_all()``, a version table that was emptied while the
tables stayed, a database with tables but no version table at all, and the retry of a MySQL
upgrade that failed half way. Only a table the database holds counts: when two pending
revisions both create a table (two root histories, each with its own head), the second fails
whatever the database, and ``stale-current`` says so, naming both. When the schema is exactly
the version table's revision, the message says why the table is there: the applied revisions
made it, and the pending one creates it again, later on the same line (the history creates it
twice) or on a branch of its own (the branches conflict).

Why it matters
--------------
The upgrade cannot get past this revision, and the usual forum fixes lose something: deleting
every version file loses the history, gutting the ``upgrade()`` body leaves a history that can no
longer build a fresh database, and dropping the table loses its rows.

On PostgreSQL, which rolls a failed revision back whole, a pending revision that is partly
visible in the schema (some of its tables, columns or indexes exist, others do not) was
created outside the migrations: this check reports it with each operation, applied or not. So
it does everywhere when what shows is not a beginning of the revision (a table its last
operation creates exists while the first one's does not): a failed run stops at one operation
and leaves only what came before it.

How to fix
----------
When the live schema *is* the schema of a pending revision, record that fact without running
the revisions up to it: ``migdoctor fix stamp --revision REV`` (what Django calls a
fake-initial). migdoctor finds REV by replaying every revision's operations into the schema at
each revision and comparing it with the live database by alembic's own autogenerate
comparison: tables, columns, types, nullability, indexes and constraints, with renames and
drops followed. When no revision's schema is the live one, no stamp is offered: the evidence
lists the closest revisions and how the live schema differs from them (a missing foreign key,
a column of another type), to be repaired first, unless a revision whose source could not be
read in full (an operation on a computed table name) keeps the history from knowing: the
message then names it, and which revision the database is at is for a person to check before
``fix stamp --force``. ``neuter-upgrade`` (dangerous) remains for the case where the revision
must never run here. A revision partly visible in the schema is completed with
``complete-revision``, which runs only its missing operations; where a failed run can leave a
revision half applied (MySQL, MariaDB, SQLite) ``partial-migration`` reports it instead.
"""

from __future__ import annotations

from migdoctor.checks import check, require_known_current, require_no_run_in_progress
from migdoctor.checks.partial_migration import partial_fixes, state_evidence
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.facts.operations import RECORDED, unread_words
from migdoctor.findings import Finding, FixOption, Severity
from migdoctor.fixes.options import fix_option, verified_stamp_option
from migdoctor.operations.effects import TableConflict, creation_conflicts
from migdoctor.operations.partial_application import (
    PartialApplication,
    next_revision_partly_applied,
)
from migdoctor.operations.schema_position import (
    matching_revisions,
    unread_behind,
    unread_revisions,
    unread_sentence,
)

SLUG = "table-exists"
CODE = "MD103"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=True,
    healthy="no pending revision creates a table that already exists",
    reads_tables=OPERATION_TABLES,
)
def pending_revision_creates_existing_table(facts: Facts) -> list[Finding]:
    require_known_current(facts)
    require_no_run_in_progress(facts)
    database = facts.database
    pending = facts.pending
    if database is None or not pending:
        return []
    partial = next_revision_partly_applied(facts)
    if partial is not None:
        if partial.half_applied_possible:
            # the upgrade stops at a revision applied half way first: partial-migration says
            # which of its operations ran; the revisions after it are judged once it is complete
            return []
        return [_made_outside_migrations(facts, partial)]
    recorded = facts.recorded(pending)
    # a table another pending revision creates first is the history's conflict, not the
    # database's: stale-current says the upgrade fails there, and why
    conflicts = [c for c in creation_conflicts(recorded, database) if c.created_by is None]
    if not conflicts:
        return []
    graph = facts.project.graph
    first = conflicts[0].revision
    first_tables = [c.table for c in conflicts if c.revision == first]
    matching = matching_revisions(facts)
    # the newest revision on the upgrade path whose whole schema the live one is
    verified = next((r for r in reversed(pending) if r in matching), None)

    by_revision: dict[str, list[TableConflict]] = {}
    for conflict in conflicts:
        by_revision.setdefault(conflict.revision, []).append(conflict)
    evidence = {
        "revision": first,
        "tables": first_tables,
        "situation": _situation(facts),
        "conflicts": [
            {
                "revision": revision,
                "message": graph.scripts[revision].doc,
                "path": facts.project.relative(graph.scripts[revision].path),
                "tables": [
                    {
                        "table": c.table,
                        "missing_columns": list(c.missing_columns),
                        "extra_columns": list(c.extra_columns),
                    }
                    for c in items
                ],
                **_how_read(facts, revision),
            }
            for revision, items in by_revision.items()
        ],
        "verified_applied": verified,
        **schema_evidence(facts),
    }
    message = (
        f"{_situation_sentence(facts)} Pending revision {first} "
        f"({graph.scripts[first].doc or 'no message'}) creates "
        f"{_tables_phrase(first_tables)}, which already "
        f"{'exists' if len(first_tables) == 1 else 'exist'}: "
        'alembic upgrade would fail with "table already exists".'
    )
    mismatched = [c for c in by_revision[first] if c.missing_columns]
    if mismatched:
        lacking = "; ".join(
            f"the live {c.table} lacks column(s) {', '.join(c.missing_columns)}" for c in mismatched
        )
        message += f" {lacking[:1].upper()}{lacking[1:]}."
    current = [row for row in database.version_rows if row in matching]
    if verified is not None:
        unsure = _also_matching(facts, verified)
        if unsure:
            # mealie (github.com/mealie-recipes/mealie): its first revision is read from its
            # source, so most tables' shape is unknown to the history
            message += (
                f" The live schema is the schema at revision {verified}. As far as alembic's "
                f"comparison can see it is also the schema at {', '.join(unsure)}, but "
                f"{'those change' if len(unsure) > 1 else 'that changes'} tables whose shape "
                "the history leaves unknown (raw SQL, a revision read from its source), and the "
                "live schema does not show each of those changes there: a stamp there could "
                f"skip them unseen. {verified} is the newest revision whose changes it shows."
            )
        else:
            message += f" The live schema is exactly the schema at revision {verified}."
    elif current:
        # the revisions already applied made the table; the pending one makes it again
        same_line = bool(set(current) & graph.ancestors([first]))
        again = (
            "comes after them and creates it again without dropping it: the history creates "
            "it twice"
            if same_line
            else "is on a branch of its own and creates it again: the branches conflict (see "
            "multiple-heads)"
        )
        message += (
            f" The live schema is exactly the schema at {', '.join(current)} (the version "
            f"table's): the revisions applied made it, and revision {first} {again}; no stamp "
            "would mend that."
        )
    else:
        message += " " + no_match_sentence(facts)
    return [
        Finding(
            check=SLUG,
            code=CODE,
            severity=Severity.ERROR,
            title="A pending revision creates a table that already exists",
            message=message,
            evidence=evidence,
            fixes=tuple(_fixes(facts, first, verified)),
            locations=facts.project.revision_locations(by_revision),
        )
    ]


def _also_matching(facts: Facts, verified: str) -> list[str]:
    """The revisions newer than ``verified`` whose schema the live one equals only where the
    comparison can see (a stamp there is not offered)."""
    database = facts.database
    history = database.schema_history if database is not None else None
    if history is None:
        return []
    newer = facts.project.graph.descendants([verified], include_self=False)
    stampable = matching_revisions(facts)
    return [r for r in history.matching if r in newer and r not in stampable]


def schema_evidence(facts: Facts) -> dict[str, object]:
    """Which revisions the live schema equals, and how it differs from the closest ones."""
    database = facts.database
    history = database.schema_history if database is not None else None
    if history is None:
        return {}
    if history.unknown:
        return {"schema_matches": None, "schema_unknown": history.unknown}
    closest = [
        {
            "revision": revision,
            "differences": [d.words for d in comparison.differences],
            **(
                {"uncertain_tables": list(comparison.uncertain_tables)}
                if comparison.uncertain_tables
                else {}
            ),
        }
        for revision in history.closest()[:3]
        if (comparison := history.comparison((revision,))) is not None and not comparison.matches
    ]
    evidence: dict[str, object] = {"schema_matches": list(history.matching)}
    if closest:
        evidence["schema_closest"] = closest
    unread = unread_revisions(facts, ())
    if unread:
        # what of each revision's source could not be read: the history's blind spots
        evidence["unread_revisions"] = {r: unread_words(facts.operations[r].unread) for r in unread}
    return evidence


def no_match_sentence(facts: Facts) -> str:
    """Why no stamp is offered: the live schema is not any revision's schema."""
    database = facts.database
    history = database.schema_history if database is not None else None
    if history is None or history.unknown:
        why = history.unknown if history is not None else "not measured"
        return f"Which revision the schema is at cannot be told ({why}), so no stamp is offered."
    closest = history.closest()
    if not closest:
        return "The live schema is not the schema of any revision, so no stamp is offered."
    comparison = history.comparison((closest[0],))
    shown = ""
    if comparison is not None and comparison.differences:
        words = [d.words for d in comparison.differences[:3]]
        more = len(comparison.differences) - len(words)
        shown = ": " + "; ".join(words) + (f"; {more} more" if more > 0 else "")
    unread = unread_behind(facts, closest[0])
    if unread:
        # MLflow (github.com/mlflow/mlflow): its revision 75868b020152 adds columns to tables a
        # helper computes; the schema's differences were the history's, not the database's
        return (
            f"The live schema is not the schema of any revision migdoctor can verify (closest: "
            f"{closest[0]}{shown}), so no stamp is offered. {unread_sentence(facts, unread)}, "
            "and the live schema cannot be checked against what it left: the differences may "
            "be the history's, not the database's. Check which revision the database is at by "
            "hand, then stamp it with --force."
        )
    return (
        f"The live schema is not the schema of any revision (closest: {closest[0]}{shown}), so "
        "no stamp is offered: a stamp would record a revision whose schema differs from the "
        "live one, and the migrations after it would meet a schema they do not expect. Make "
        f"the differences match {closest[0]} first (or stamp with --force when you know why "
        "they differ)."
    )


def _made_outside_migrations(facts: Facts, partial: PartialApplication) -> Finding:
    """A pending revision partly visible where a failed run is rolled back whole."""
    database = facts.database
    assert database is not None
    revision = partial.revision
    script = facts.project.graph.scripts[revision]
    applied = [s.operation.describe() for s in partial.applied]
    missing = [s.operation.describe() for s in partial.missing]
    recorded = facts.operations[revision]
    if partial.stops_half_way:
        # where a run can stop half way, it stops at one operation: what shows after what does
        # not was made by something else
        why = (
            f"a failed run stops at one operation, yet {applied[-1]} shows while "
            f"{missing[0]}, which comes before it, does not"
        )
    else:
        why = f"{database.server_version.name} rolls back a failed revision whole"
    message = (
        f"{_situation_sentence(facts)} Part of pending revision {revision} "
        f"({script.doc or 'no message'}) is already in the schema: {'; '.join(applied[:3])}"
        f"{' …' if len(applied) > 3 else ''}; not yet: {'; '.join(missing[:3])}"
        f"{' …' if len(missing) > 3 else ''}. {why[:1].upper()}{why[1:]}, so these objects "
        "were created outside the migrations (by hand, by metadata.create_all() or another "
        "tool); alembic upgrade would fail on the first of them."
    )
    evidence = {
        "revision": revision,
        "message": script.doc,
        "path": facts.project.relative(script.path),
        "situation": _situation(facts),
        "current": list(database.version_rows),
        "operations": [state_evidence(state, partial) for state in partial.states],
        "operations_read": recorded.method,
        **schema_evidence(facts),
    }
    return Finding(
        check=SLUG,
        code=CODE,
        severity=Severity.ERROR,
        title="Part of a pending revision already exists",
        message=message,
        evidence=evidence,
        fixes=tuple(partial_fixes(facts, partial, recorded.method == RECORDED)),
        locations=facts.project.revision_locations([revision]),
    )


def _fixes(facts: Facts, first: str, verified: str | None) -> list[FixOption]:
    fixes = []
    if verified is not None:
        fixes.append(
            verified_stamp_option(
                facts, verified, f"Record {verified} as applied without running it"
            )
        )
    fixes.append(
        fix_option(
            facts,
            "neuter-upgrade",
            f"Replace the body of {first}'s upgrade() with pass",
            why="a fresh database built from the history would then lack what it created",
            revision=first,
        )
    )
    return fixes


def _situation(facts: Facts) -> str:
    database = facts.database
    assert database is not None
    if not database.version_table_exists:
        return "no-version-table"
    if not database.version_rows:
        return "empty-version-table"
    return "behind"


def _situation_sentence(facts: Facts) -> str:
    database = facts.database
    assert database is not None
    situation = _situation(facts)
    if situation == "no-version-table":
        return (
            f"The database has tables but no {database.qualified_version_table} table (created "
            "by metadata.create_all() or by hand?), so alembic believes nothing was applied."
        )
    if situation == "empty-version-table":
        return (
            f"{database.qualified_version_table} is empty while the tables are still there, so "
            "alembic believes nothing was applied."
        )
    return f"The database is at {', '.join(database.version_rows)}."


def _tables_phrase(tables: list[str]) -> str:
    if len(tables) == 1:
        return f"table {tables[0]}"
    return "tables " + ", ".join(tables)


def _how_read(facts: Facts, revision: str) -> dict[str, str]:
    recorded = facts.operations.get(revision)
    if recorded is None:
        return {}
    read = {"operations_read": recorded.method}
    if recorded.note:
        read["note"] = recorded.note
    return read
