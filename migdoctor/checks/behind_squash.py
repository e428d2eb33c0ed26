"""behind-squash: the database is at a revision that migdoctor squash archived.

What it detects
---------------
A row of the version table holds a revision id that no script of the history defines, but that
a squash moved to ``<script_location>/squashed/<REV>/``, where REV is the revision the squash
replaced the old chain with (it kept REV's id, so it is still in the history). The database was
not upgraded to REV before the squash: a copy of the application, a developer's database, a
staging server that was behind.

Why it matters
--------------
alembic knows only the new history: ``alembic upgrade head`` fails with "Can't locate revision
identified by …", and ``alembic stamp`` would skip the archived revisions between the database
and REV, so their changes would never be made.

How to fix
----------
``migdoctor fix upgrade-archived`` runs the archived revisions themselves, from the database's
revision up to REV, loaded from the archive folder by alembic, under the migration lock. The
database is then at REV, which the history knows, and continues normally
(``migdoctor upgrade``).
"""

from __future__ import annotations

from migdoctor.checks import check, require_no_run_in_progress
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, Severity
from migdoctor.fixes.options import fix_option

SLUG = "behind-squash"
CODE = "MD110"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=True,
    healthy="the version table names no revision a squash archived",
    reads_tables=OPERATION_TABLES,
)
def database_at_archived_revision(facts: Facts) -> list[Finding]:
    require_no_run_in_progress(facts)
    database = facts.database
    archived = facts.archived_current
    if database is None or not archived:
        return []
    findings = []
    for row, archive in archived.items():
        folder = facts.project.relative(archive.folder)
        script = next(s for s in archive.scripts if s.revision == row)
        findings.append(
            Finding(
                check=SLUG,
                code=CODE,
                severity=Severity.ERROR,
                title="The database is at a revision a squash archived",
                message=(
                    f"{database.qualified_version_table} holds {row} ({script.doc}), which "
                    f"migdoctor squash archived in {folder}: the history now starts at "
                    f"{archive.up_to}, which replaced the revisions up to it. alembic cannot "
                    f"read this version table; run the archived revisions from {row} up to "
                    f"{archive.up_to} and the database continues normally."
                ),
                evidence={
                    "revision": row,
                    "archive": folder,
                    "squashed_up_to": archive.up_to,
                    "archived": list(archive.revisions),
                },
                fixes=(
                    fix_option(
                        facts,
                        "upgrade-archived",
                        f"Run the archived revisions from {row} up to {archive.up_to}",
                        why="the archived files are the revisions this database is behind on",
                        recommended=True,
                    ),
                ),
                locations=(facts.project.revision_location(script),),
            )
        )
    return findings
