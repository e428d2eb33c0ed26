"""required-column-without-default: a new NOT NULL column without a server default.

What it detects
---------------
``op.add_column(table, sa.Column(..., nullable=False))`` without ``server_default`` on a table
that exists before the revision runs (tables created earlier in the upgrade are exempt). An
error when the table has rows on PostgreSQL or SQLite (the database refuses it); a warning when
it is empty (it passes here, and fails wherever the table has rows), offline, and on
MySQL/MariaDB, which fill the existing rows with the type's implicit default (0, '') or, in
strict mode, refuse it for some types.

Why it matters
--------------
The existing rows would hold NULL in a column that forbids it: PostgreSQL stops with "column
contains null values", SQLite with "Cannot add a NOT NULL column with default value NULL". The
upgrade stops half way on MySQL, where DDL is not transactional.

How to fix
----------
Add the column nullable, fill it, then make it NOT NULL (in a later revision, or after the
backfill)::

    op.add_column("user", sa.Column("bio", sa.Text(), nullable=True))
    op.execute("UPDATE \"user\" SET bio = ''")
    op.alter_column("user", "bio", nullable=False)

or give it a ``server_default``.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.checks.hazard_findings import hazard_findings
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, Severity

SLUG = "required-column-without-default"
CODE = "MD403"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=False,
    healthy="every new NOT NULL column on an existing table has a server default",
    reads_tables=OPERATION_TABLES,
)
def required_column_without_default(facts: Facts) -> list[Finding]:
    return hazard_findings(facts, CODE)
