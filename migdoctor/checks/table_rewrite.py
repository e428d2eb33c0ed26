"""table-rewrite: a pending operation copies a whole large table.

What it detects
---------------
On a table that exists before the revision runs and holds at least ``large_table_rows`` rows,
an operation that writes every row again on this server's version:
``op.alter_column(..., type_=...)`` to a type the database cannot switch to in place
(PostgreSQL: anything but widening a ``varchar``, dropping its length or making it ``text``;
MySQL/MariaDB: anything but widening a ``VARCHAR`` within the same length bytes, the rest is
``ALGORITHM=COPY``; SQLite: every type change, which alembic's batch mode does by copying the
table); ``op.add_column`` with a volatile ``server_default`` (``gen_random_uuid()``,
``random()``, ``clock_timestamp()``...) on PostgreSQL, or with any default before PostgreSQL 11;
on MySQL/MariaDB adding or dropping a column where the version cannot do it ``INSTANT`` (MySQL
before 8.0.12 / 8.0.29, MariaDB before 10.3 / 10.4) and making a column ``NULL``/``NOT NULL``
(rebuilt in place). The finding names the server version its verdict is for; offline, where the
version is not known, the newest is assumed and the finding says so. The rules by version and
their sources are in ``operations/rewrites.py``.

Why it matters
--------------
The database writes every row again while it holds a lock that blocks writes (PostgreSQL: reads
too), and needs the room for a second copy of the table: on a big table, minutes of outage.

How to fix
----------
Expand and contract: add a new column of the new type (or without the volatile default), fill
it in batches, switch the application to it, then drop the old one in a later revision.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.checks.hazard_findings import hazard_findings
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, Severity

SLUG = "table-rewrite"
CODE = "MD405"


@check(
    SLUG,
    CODE,
    Severity.WARNING,
    needs_database=False,
    healthy="no pending operation rewrites a large table",
    reads_tables=OPERATION_TABLES,
)
def table_rewrite(facts: Facts) -> list[Finding]:
    return hazard_findings(facts, CODE)
