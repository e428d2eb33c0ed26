"""index-needed-by-foreign-key: a pending step drops the last index a foreign key can use (MySQL).

What it detects
---------------
On MySQL/MariaDB, ``op.drop_index``, ``op.drop_constraint(..., type_='unique')`` or
``type_='primary'``, or ``op.drop_column`` (MySQL takes the column out of every index) in a
pending revision (and, before ``migdoctor downgrade`` runs, in the ``downgrade()`` of the
revisions it takes back) that leaves a live foreign key without the index it needs:
InnoDB keeps, at both ends of a foreign key (the referencing table and the referenced one), an
index whose first columns are the key's columns in order, and no other index of that table
would still have them once it is gone. The steps run before it count: a ``drop_constraint`` of
the foreign key earlier (in the same revision or an earlier one) makes the drop fine, and so
does an index created earlier on the same leading columns; a foreign key created earlier needs
its index as a live one does. What raw SQL (other than INSERT, UPDATE, DELETE, SELECT) may have
changed is not followed: nothing after it is judged. PostgreSQL and SQLite need no index for a
foreign key: nothing is said there.

Why it matters
--------------
MySQL/MariaDB refuse the drop (error 1553, "Cannot drop index 'x': needed in a foreign key
constraint"; MySQL 8 refuses dropping a column of the key with error 1828): the run stops at
that step, and since MySQL cannot roll DDL back, what the revision did before it stays, with
the version table not moved: a half-applied revision.

How to fix
----------
In the same migration, before the drop: either drop the foreign key first
(``op.drop_constraint('fk_name', 'table', type_='foreignkey')``, and create it again after if
it stays), or create another index whose first columns are the foreign key's
(``op.create_index('ix_table_column', 'table', ['column'])``). The finding names the index,
the foreign key and the table.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.checks.hazard_findings import hazard_findings
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, Severity

SLUG = "index-needed-by-foreign-key"
CODE = "MD411"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=True,
    healthy="no pending step drops an index a foreign key needs",
    reads_tables=OPERATION_TABLES,
)
def index_needed_by_foreign_key(facts: Facts) -> list[Finding]:
    return hazard_findings(facts, CODE)
