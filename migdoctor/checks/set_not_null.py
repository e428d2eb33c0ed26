"""set-not-null: a column made NOT NULL on an existing table.

What it detects
---------------
``op.alter_column(table, column, nullable=False)`` on a table that exists before the revision
runs. An error when rows hold NULL in that column today (counted, with a bounded query); a
warning otherwise on PostgreSQL, which scans the whole table under an ACCESS EXCLUSIVE lock to
prove there are none (on tables of at least ``large_table_rows`` rows, 10,000 by default).
Columns already NOT NULL are left alone, and so is a column that a valid CHECK constraint
proves NOT NULL on PostgreSQL 12+ (which then skips the scan): one the table has now, or one
the upgrade creates and validates before the change (``CHECK (c IS NOT NULL)``, alone or
joined by AND; an OR, or a constraint left NOT VALID, proves nothing).

Why it matters
--------------
With NULLs the database refuses the change and the upgrade stops. Without them, on PostgreSQL,
reads and writes of the table wait for the full scan.

How to fix
----------
Fill the NULLs first (``op.execute("UPDATE t SET c = ... WHERE c IS NULL")``). On a big
PostgreSQL table, prove it without the long lock: add ``CHECK (c IS NOT NULL) NOT VALID``,
``VALIDATE CONSTRAINT`` it (a lighter lock), then set NOT NULL: PostgreSQL 12+ uses the valid
constraint and skips the scan.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.checks.hazard_findings import hazard_findings
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, Severity

SLUG = "set-not-null"
CODE = "MD404"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=True,
    healthy="no pending NOT NULL change meets NULLs or scans a locked PostgreSQL table",
    reads_tables=OPERATION_TABLES,
)
def set_not_null(facts: Facts) -> list[Finding]:
    return hazard_findings(facts, CODE)
