"""validating-constraint: a new constraint checks every row of a large table under a lock.

What it detects
---------------
``op.create_foreign_key``, ``op.create_check_constraint`` or ``op.create_unique_constraint``
on an existing PostgreSQL table of at least ``large_table_rows`` rows (10,000 unless
``[tool.migdoctor]`` says otherwise), without ``postgresql_not_valid=True``.

Why it matters
--------------
PostgreSQL checks every existing row while it holds the lock the ALTER TABLE takes: ACCESS
EXCLUSIVE for a check or unique constraint (reads and writes wait), SHARE ROW EXCLUSIVE on both
tables for a foreign key (writes wait). On a big table the application stalls for the whole
scan.

How to fix
----------
Add it ``NOT VALID`` (new rows are checked at once), then validate it, which takes only a SHARE
UPDATE EXCLUSIVE lock::

    op.create_foreign_key("fk_comment_user", "comment", "user", ["user_id"], ["id"],
                          postgresql_not_valid=True)
    op.execute("ALTER TABLE comment VALIDATE CONSTRAINT fk_comment_user")

For a unique constraint, build its index concurrently first, then ``ADD CONSTRAINT ... UNIQUE
USING INDEX``.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.checks.hazard_findings import hazard_findings
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, Severity

SLUG = "validating-constraint"
CODE = "MD406"


@check(
    SLUG,
    CODE,
    Severity.WARNING,
    needs_database=False,
    healthy="no new constraint validates a large PostgreSQL table under a blocking lock",
    reads_tables=OPERATION_TABLES,
)
def validating_constraint(facts: Facts) -> list[Finding]:
    return hazard_findings(facts, CODE)
