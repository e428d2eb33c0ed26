"""table-exists: a pending revision creates a table that already exists.

What it detects
---------------
A revision that has not been applied yet calls ``op.create_table`` for a table the database
already has. ``alembic upgrade head`` would stop on it with "table already exists" (MySQL error
1050, PostgreSQL ``DuplicateTable``, SQLite "table ... already exists"). It covers a table
created by hand or by ``metadata.create_all()``, a version table that was emptied while the
tables stayed, a database with tables but no version table at all, and the retry of a MySQL
upgrade that failed half way.

Why it matters
--------------
The upgrade cannot get past this revision, and the usual forum fixes lose something: deleting
every version file loses the history, gutting the ``upgrade()`` body leaves a history that can no
longer build a fresh database, and dropping the table loses its rows.

How to fix
----------
When the tables and columns the pending revisions create are all there already, record that
fact without running them: ``migdoctor fix stamp --revision REV`` with the revision migdoctor
verified column by column (what Django calls a fake-initial). When the existing table differs
from what the revision creates, compare them first; ``neuter-upgrade`` (dangerous) remains for
the case where the revision must never run here. When the existing table is the first half of
a revision that failed half way (its other operations are missing), ``partial-migration``
reports that revision instead, with a repair that runs only the missing half.
"""

from __future__ import annotations

from migdoctor.checks import check, require_known_current, require_no_run_in_progress
from migdoctor.effects import (
    TableConflict,
    applied_prefix,
    creation_conflicts,
    next_revision_partly_applied,
)
from migdoctor.facts import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, FixOption, Risk, Severity

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
    if next_revision_partly_applied(facts) is not None:
        # the upgrade stops at a revision applied half way first: partial-migration says which
        # of its operations ran; the revisions after it are judged once it is complete
        return []
    recorded = facts.recorded(pending)
    conflicts = creation_conflicts(recorded, database)
    if not conflicts:
        return []
    graph = facts.project.graph
    first = conflicts[0].revision
    first_tables = [c.table for c in conflicts if c.revision == first]
    verified, per_revision = applied_prefix(recorded, database)
    # the evidence ends with the first revision whose effects the schema does not show
    shown_until = next((i for i, item in enumerate(per_revision) if item.not_shown), None)
    if shown_until is not None:
        per_revision = per_revision[: shown_until + 1]

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
        "schema_evidence": [
            {
                "revision": item.revision,
                "shown": list(item.shown),
                "not_shown": list(item.not_shown),
                "unverifiable": list(item.unverifiable),
            }
            for item in per_revision
        ],
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
        message += (
            " "
            + "; ".join(
                f"the live {c.table} lacks column(s) {', '.join(c.missing_columns)}"
                for c in mismatched
            )
            + "."
        )
    return [
        Finding(
            check=SLUG,
            code=CODE,
            severity=Severity.ERROR,
            title="A pending revision creates a table that already exists",
            message=message,
            evidence=evidence,
            fixes=tuple(_fixes(facts, first, verified)),
        )
    ]


def _fixes(facts: Facts, first: str, verified: str | None) -> list[FixOption]:
    fixes = []
    if verified is not None:
        fixes.append(
            FixOption(
                id="stamp",
                title=f"Record {verified} as applied without running it",
                risk=Risk.CAUTION,
                command=facts.fix_command("stamp", "--revision", verified),
                revision=verified,
                why="every table and column the pending revisions up to it create already exists",
                recommended=True,
            )
        )
    fixes.append(
        FixOption(
            id="neuter-upgrade",
            title=f"Replace the body of {first}'s upgrade() with pass",
            risk=Risk.DANGEROUS,
            command=facts.fix_command("neuter-upgrade", "--revision", first),
            revision=first,
            why="a fresh database built from the history would then lack what it created",
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
