"""type-change-without-cast: a column changed to a type PostgreSQL cannot convert it to by itself.

What it detects
---------------
``op.alter_column(table, column, type_=...)`` without ``postgresql_using`` on a PostgreSQL table
that exists before the revision runs, when PostgreSQL has no automatic conversion from the
column's type today to the new one: not the same type with another length or precision, not a
string type (anything converts to text), and no implicit or assignment cast in ``pg_cast``
(VARCHAR to INTEGER, TEXT to UUID, VARCHAR to BOOLEAN...). The live column's type is the one
read from the database. An ENUM the upgrade itself creates earlier counts too (PostgreSQL
converts no other type to an ENUM by itself); another new type the upgrade creates is not known
yet, and nothing is said of it.

Why it matters
--------------
PostgreSQL refuses the change ("column ... cannot be cast automatically to type ...", "You
might need to specify USING"): the upgrade stops there, and the migration that worked on SQLite
in development fails in production.

How to fix
----------
Say how to convert: ``op.alter_column(..., type_=sa.Integer(),
postgresql_using="column::integer")`` (or an expression that converts what the column holds),
after checking that every value converts.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.checks.hazard_findings import hazard_findings
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, Severity

SLUG = "type-change-without-cast"
CODE = "MD410"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=True,
    healthy="no pending type change needs a conversion PostgreSQL does not make by itself",
    reads_tables=OPERATION_TABLES,
)
def type_change_without_cast(facts: Facts) -> list[Finding]:
    return hazard_findings(facts, CODE)
