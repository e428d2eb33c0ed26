"""stamp: set the version table to a revision without running migrations.

What it does
------------
Writes the version table so that it names the revision (creating the table when there is none),
as ``alembic stamp`` does, without touching any other table. Before stamping, the live schema is
compared with the schema the history describes at that revision (every revision's recorded
operations replayed, then alembic's own autogenerate comparison): any difference — a missing or
extra table or column, a column type, nullability, an index or constraint, a rename or drop not
done — or a table that a later revision would create but that already exists, blocks the stamp
unless ``--force`` is given: a blind ``alembic stamp head`` is how migrations silently never run.

Risk
----
caution: it changes what alembic believes without touching the schema; stamping the wrong
revision makes alembic skip or repeat real migrations.

Undo
----
``migdoctor undo`` puts the version table's rows back as they were (and drops the version table
when the stamp created it), only while the table still holds what the stamp left. It creates and
drops no other table; when tables were created or dropped since, it says so.

Later, ``migdoctor downgrade`` below the stamped revision refuses (without ``--force``) to drop
the tables of the revisions the stamp recorded as applied: no migration created them.
"""

from __future__ import annotations

from migdoctor.facts.model import Facts
from migdoctor.findings import Risk
from migdoctor.operations.effects import creation_conflicts, schema_mismatches
from migdoctor.operations.schema_position import comparison_with, data_changes_skipped
from migdoctor.repair.plan import FixRequest, Plan, nothing_to_do, refused, version_table_change

FIX_ID = "stamp"
NEEDS_DATABASE = True
RISK = Risk.CAUTION


def plan(facts: Facts, request: FixRequest) -> Plan:
    database = facts.database
    graph = facts.project.graph
    title = (
        f"Record {request.revision} in the version table without running migrations"
        if request.revision
        else "Record a revision in the version table without running migrations"
    )
    if database is None:
        return refused(FIX_ID, title, RISK, "stamp needs the database (not --offline).")
    if not request.revision:
        return refused(FIX_ID, title, RISK, "stamp needs --revision REV (the revision to record).")
    try:
        targets = graph.resolve(request.revision)
    except LookupError as error:
        return refused(FIX_ID, title, RISK, f"{error}: stamp only records known revisions.")

    known_current = [row for row in database.version_rows if row in graph]
    related = graph.ancestors(targets) | graph.descendants(targets)
    rows_after = tuple(
        dict.fromkeys([r for r in known_current if r not in related] + list(targets))
    )
    title = f"Record {', '.join(targets) or 'base (no revision)'} without running migrations"

    applied = graph.ancestors(rows_after)
    pending_after = graph.pending(rows_after)
    conflicts = creation_conflicts(facts.recorded(pending_after), database)
    blockers = []
    warnings = [
        "No migration runs: only the version table changes. The schema must already be in "
        "the state this revision describes."
    ]
    skipped_data = [change for target in targets for change in data_changes_skipped(facts, target)]
    if skipped_data:
        warnings.append(
            "The revisions it records as applied also change data, which no schema shows and "
            "the stamp skips: "
            + "; ".join(dict.fromkeys(skipped_data))
            + ". Make sure that data is there (or run those statements by hand) first."
        )
    comparison = comparison_with(facts, rows_after)
    if comparison is not None and comparison.error is None:
        differences = [d.words for d in comparison.differences]
        if differences:
            blockers.append(
                f"The live schema is not the schema at {', '.join(rows_after) or 'base'} "
                "(alembic's comparison of the live database with the schema the history "
                "describes there): "
                + "; ".join(differences[:8])
                + (f"; {len(differences) - 8} more" if len(differences) > 8 else "")
                + ". Stamping would skip or repeat real migrations."
            )
        if comparison.uncertain_tables:
            warnings.append(
                "Not compared, since raw SQL or a database-dependent upgrade() shapes them: "
                + ", ".join(comparison.uncertain_tables)
                + "."
            )
    else:
        why = comparison.error if comparison is not None else _not_measured(facts)
        warnings.append(
            f"Column types and renames could not be compared ({why}): only the names of "
            "tables and columns were."
        )
        oldest_first = list(reversed(graph.history()))
        missing = schema_mismatches(
            facts.recorded(r for r in oldest_first if r in applied), database
        )
        if missing:
            blockers.append(
                "The schema does not show what the revisions up to it create: "
                + ", ".join(missing[:8])
                + (" …" if len(missing) > 8 else "")
                + ". Stamping would hide migrations that never ran."
            )
    for conflict in conflicts:
        blockers.append(
            f"Table {conflict.table}, which later revision {conflict.revision} creates, already "
            "exists: the next upgrade would fail on it."
        )
    unrecorded = [r for r in applied if r not in facts.operations]
    if unrecorded:
        warnings.append(
            f"{len(unrecorded)} revision(s) could not be compared with the schema "
            "(their operations are unknown)."
        )
    dropped = [row for row in database.version_rows if row not in rows_after]
    unknown_dropped = [row for row in dropped if row not in graph]
    if unknown_dropped:
        warnings.append(
            f"Replaces {', '.join(unknown_dropped)}, which no script defines (undo puts it back)."
        )
    change = version_table_change(database, rows_after)
    if change.rows_before == change.rows_after and database.version_table_exists:
        return nothing_to_do(
            FIX_ID, title, RISK, f"The version table already holds {', '.join(rows_after)}."
        )
    return Plan(
        fix=FIX_ID,
        title=title,
        risk=RISK,
        version_table=change,
        warnings=tuple(warnings),
        blockers=tuple(blockers),
        arguments={"revision": request.revision},
    )


def _not_measured(facts: Facts) -> str:
    database = facts.database
    history = database.schema_history if database is not None else None
    if history is not None and history.unknown:
        return history.unknown
    return "the schema at that revision was not measured"
