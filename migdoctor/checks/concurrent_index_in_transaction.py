"""concurrent-index-in-transaction: a concurrent index operation inside a transaction.

What it detects
---------------
``op.create_index(..., postgresql_concurrently=True)`` or ``op.drop_index(...,
postgresql_concurrently=True)`` that is not inside ``op.get_context().autocommit_block()``.
It is read from the revision itself, so it is found offline too.

Why it matters
--------------
alembic runs each migration inside a transaction on PostgreSQL, and PostgreSQL refuses
``CREATE INDEX CONCURRENTLY`` there: "cannot run inside a transaction block". The upgrade stops
at that revision; migdoctor's upgrade preflight refuses to start it.

How to fix
----------
Wrap the operation::

    with op.get_context().autocommit_block():
        op.create_index("ix_user_email", "user", ["email"], postgresql_concurrently=True)

What ran before it in the revision is committed when the block starts.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.checks.hazard_findings import hazard_findings
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, Severity

SLUG = "concurrent-index-in-transaction"
CODE = "MD402"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=False,
    healthy="no concurrent index operation runs inside a transaction",
    reads_tables=OPERATION_TABLES,
)
def concurrent_index_in_transaction(facts: Facts) -> list[Finding]:
    return hazard_findings(facts, CODE)
