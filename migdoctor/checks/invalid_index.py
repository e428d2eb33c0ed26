"""invalid-index: PostgreSQL holds an index left INVALID by a failed concurrent build.

What it detects
---------------
An index PostgreSQL marks invalid (``pg_index.indisvalid`` false) with no build of it running:
what ``CREATE INDEX CONCURRENTLY`` (``op.create_index(..., postgresql_concurrently=True)``) or
``REINDEX CONCURRENTLY`` leaves when it fails half way — on duplicate values for a unique index,
a deadlock, a cancelled statement, a lost connection. The report names the index, its table,
its definition and whether it is unique. PostgreSQL only: other databases build an index in one
step or not at all. An index being built right now is left out.

Why it matters
--------------
Queries never use an invalid index, yet every insert and update still maintains it (and a
unique one still refuses duplicates), so it costs writes for nothing. Running the migration
again fails on its name (``relation "ix_…" already exists``) while the index still is not there
to use.

How to fix
----------
Drop it, then let the migration build it again once its cause is gone (the duplicates removed,
say): ``migdoctor fix drop-invalid-indexes`` runs ``DROP INDEX CONCURRENTLY`` for each (no
write is blocked), after showing them. It cannot be undone, but nothing is lost: the index
answered no query, and its definition is in the report and the journal to build it again by
hand.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, Severity
from migdoctor.fixes.options import fix_option

SLUG = "invalid-index"
CODE = "MD409"


@check(
    SLUG,
    CODE,
    Severity.WARNING,
    needs_database=True,
    reads_tables=OPERATION_TABLES,  # the catalog's index flags: no table is reflected
    healthy="no index is left invalid by a failed concurrent build",
)
def index_left_invalid(facts: Facts) -> list[Finding]:
    database = facts.database
    if database is None or not database.invalid_indexes:
        return []
    invalid = database.invalid_indexes
    names = ", ".join(f"{index.name} on {index.table}" for index in invalid)
    return [
        Finding(
            check=SLUG,
            code=CODE,
            severity=Severity.WARNING,
            title=f"{len(invalid)} index(es) left invalid by a failed concurrent build",
            message=(
                f"PostgreSQL holds {names}, marked INVALID: a CREATE INDEX CONCURRENTLY that "
                "failed half way leaves it so. Queries never use it, every write still maintains "
                "it"
                + (
                    ", and a unique one still refuses duplicates"
                    if any(i.unique for i in invalid)
                    else ""
                )
                + "; running the migration again fails on its name. Drop it, remove what made "
                "the build fail, and build it again."
            ),
            evidence={
                "indexes": [
                    {
                        "schema": index.schema,
                        "table": index.table,
                        "name": index.name,
                        "unique": index.unique,
                        "definition": index.definition,
                    }
                    for index in invalid
                ]
            },
            fixes=(
                fix_option(
                    facts,
                    "drop-invalid-indexes",
                    "Drop the invalid index(es) with DROP INDEX CONCURRENTLY",
                    why="they answer no query; their definitions stay in the journal",
                    recommended=True,
                ),
            ),
            locations=facts.project.config_location,
        )
    ]
