"""drop-invalid-indexes: drop the PostgreSQL indexes a failed concurrent build left INVALID.

What it does
------------
For ``invalid-index``: runs ``DROP INDEX CONCURRENTLY IF EXISTS schema.name`` for each index
the check names, each on a connection of its own outside any transaction (as PostgreSQL
requires), so no read or write of the table is blocked. The plan lists each index with its
definition before consent. Then the migration that failed can build it again, once what made
it fail is gone.

Risk
----
caution: an invalid index answers no query, so nothing reads differently; a unique one stops
refusing duplicate values the table does not have yet.

Undo
----
It cannot be undone: building the index again is the migration's job (or ``CREATE INDEX
CONCURRENTLY`` by hand, from the definition the journal keeps). ``migdoctor undo`` passes over
it with a note, and the fixes before it stay undoable.
"""

from __future__ import annotations

from migdoctor.facts.model import Facts
from migdoctor.findings import Risk
from migdoctor.repair.plan import FixRequest, IndexDrop, Plan, nothing_to_do, refused

FIX_ID = "drop-invalid-indexes"
NEEDS_DATABASE = True
RISK = Risk.CAUTION


def plan(facts: Facts, request: FixRequest) -> Plan:
    database = facts.database
    title = "Drop the indexes a failed concurrent build left invalid"
    if database is None:
        return refused(FIX_ID, title, RISK, "drop-invalid-indexes needs the database.")
    if database.dialect != "postgresql":
        return nothing_to_do(
            FIX_ID, title, RISK, f"{database.dialect} leaves no invalid index: nothing to drop."
        )
    if not database.invalid_indexes:
        return nothing_to_do(FIX_ID, title, RISK, "No index is invalid: nothing to drop.")
    drops = tuple(
        IndexDrop(
            name=index.qualified_name,
            table=index.table,
            definition=index.definition,
            statement=f'DROP INDEX CONCURRENTLY IF EXISTS "{index.schema}"."{index.name}"',
        )
        for index in database.invalid_indexes
    )
    return Plan(
        fix=FIX_ID,
        title=f"Drop {len(drops)} invalid index(es): {', '.join(d.name for d in drops)}",
        risk=RISK,
        index_drops=drops,
        warnings=(
            "Build each again (run the migration again, or CREATE INDEX CONCURRENTLY from the "
            "definition above) once what made its build fail is gone.",
        ),
        irreversible="An index dropped is not built again by undo; its definition is in the "
        "journal.",
    )
