"""destructive-operation: a pending operation drops data or renames what the app uses.

What it detects
---------------
``op.drop_table`` or ``op.drop_column`` on a table that holds rows (counted), and
``op.rename_table`` or ``op.alter_column(..., new_column_name=...)`` on an existing table.
Offline the rows are unknown: only renames are reported.

Why it matters
--------------
A drop destroys the data for good (a downgrade brings the column back, empty). During a deploy
the previous application version keeps running against the upgraded database: a renamed or
dropped table or column makes its queries fail until it is replaced.

How to fix
----------
Expand and contract: add the new table or column, write to both, move the readers, and drop the
old one in a later release, after a backup. ``# migdoctor: ignore[MD408]`` on the operation's
line records that the drop is intended.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.checks.hazard_findings import hazard_findings
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, Severity

SLUG = "destructive-operation"
CODE = "MD408"


@check(
    SLUG,
    CODE,
    Severity.WARNING,
    needs_database=False,
    healthy="no pending operation drops data or renames what the running application uses",
    reads_tables=OPERATION_TABLES,
)
def destructive_operation(facts: Facts) -> list[Finding]:
    return hazard_findings(facts, CODE)
