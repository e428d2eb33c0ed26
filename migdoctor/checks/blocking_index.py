"""blocking-index: a pending index build or drop blocks writes on a large PostgreSQL table.

What it detects
---------------
``op.create_index`` or ``op.drop_index`` on a PostgreSQL table that exists before the revision
runs, without ``postgresql_concurrently=True``. Tables created earlier in the same upgrade are
exempt (they are empty), and so are tables whose catalog estimate is below ``large_table_rows``
(10,000 unless ``[tool.migdoctor]`` says otherwise). Offline, the head revisions are read from
their files when the configured URL is a PostgreSQL one; sizes are then unknown.

Why it matters
--------------
``CREATE INDEX`` takes a SHARE lock on the table for the whole build: every INSERT, UPDATE and
DELETE waits, for as long as reading the whole table and sorting it takes. ``DROP INDEX`` takes
ACCESS EXCLUSIVE: even reads wait. On a big table the application stalls.

How to fix
----------
Build (or drop) the index concurrently, outside the migration's transaction::

    with op.get_context().autocommit_block():
        op.create_index("ix_user_email", "user", ["email"], postgresql_concurrently=True)

A failed concurrent build leaves an INVALID index behind: drop it before retrying. To accept
the lock for one operation, put ``# migdoctor: ignore[MD401]`` on its line.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.checks.hazard_findings import hazard_findings
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, Severity

SLUG = "blocking-index"
CODE = "MD401"


@check(
    SLUG,
    CODE,
    Severity.WARNING,
    needs_database=False,
    healthy="no pending index build or drop blocks writes on a large PostgreSQL table",
    reads_tables=OPERATION_TABLES,
)
def blocking_index(facts: Facts) -> list[Finding]:
    return hazard_findings(facts, CODE)
