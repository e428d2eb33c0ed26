"""unique-on-duplicates: a new unique index or constraint over values that are already duplicated.

What it detects
---------------
``op.create_index(..., unique=True)`` or ``op.create_unique_constraint`` on a table that exists
before the revision runs, when some value of those columns is held by more than one row today
(rows with a NULL in them aside: a unique index allows those). The finding counts them and
shows a few.

Why it matters
--------------
The database refuses the index ("could not create unique index", "Duplicate entry"): the
upgrade stops there, half way on MySQL.

How to fix
----------
Decide which rows to keep, delete or merge the others (a data migration before the index, or
by hand), then upgrade.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.checks.hazard_findings import hazard_findings
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, Severity

SLUG = "unique-on-duplicates"
CODE = "MD407"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=True,
    healthy="no new unique index or constraint meets duplicated values",
    reads_tables=OPERATION_TABLES,
)
def unique_on_duplicates(facts: Facts) -> list[Finding]:
    return hazard_findings(facts, CODE)
