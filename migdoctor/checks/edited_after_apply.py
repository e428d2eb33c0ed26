"""edited-after-apply: a revision file changed after migdoctor applied it to this database.

What it detects
---------------
``migdoctor upgrade``, ``downgrade``, ``stamp`` and the fixes that run or stamp revisions record
each revision in a ledger table of the database (``migdoctor_ledger``) with the sha256 of its
file and the file's text (compressed). A revision the database is at (or past) whose file's
sha256 now differs from the one recorded at its last apply has been edited since; the finding
says how many lines were added and removed (Flyway, Liquibase, Prisma and Atlas check the same
with their checksums; alembic keeps nothing).

Why it matters
--------------
alembic never runs an applied revision again: the edit reaches new databases (a fresh test
database, a new deployment) but never this one, so the same history gives different schemas.
An edit after the fact is also how a revision's ``downgrade()`` stops matching what its
``upgrade()`` really did here.

How to fix
----------
Put the file back as it was (``git diff`` shows the edit) and write the change as a new
revision (``migdoctor revision -m ...``), which every database then runs. When the edit changes
nothing a database would see (a comment, a docstring), ignore it: ``migdoctor check --ignore
edited-after-apply``. Without a ledger (``--no-ledger``, ``ledger = false`` in
``[tool.migdoctor]`` or the ini's ``[migdoctor]`` section, or a database user who may not create
the table) this check finds nothing and every other check works as before.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.facts.ledger import FileSinceApply
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, Severity

SLUG = "edited-after-apply"
CODE = "MD208"


@check(
    SLUG,
    CODE,
    Severity.WARNING,
    needs_database=True,
    reads_tables=OPERATION_TABLES,  # the ledger and the files: no table of the user's
    healthy="no applied revision file changed since migdoctor recorded it (or no ledger)",
)
def revision_edited_after_apply(facts: Facts) -> list[Finding]:
    database = facts.database
    if database is None or database.ledger is None:
        return []
    ledger = database.ledger
    graph = facts.project.graph
    findings = []
    for revision, since in sorted(ledger.edited.items()):
        last = ledger.last_entry(revision)
        if last is None or revision not in graph:
            continue
        when = last.applied_at.replace("T", " ")[:16]
        verb = "stamped" if last.direction == "stamp" else "applied"
        message = (
            f"{since.path} (revision {revision}) changed after it was applied here: the ledger "
            f"({ledger.table}) recorded the file when migdoctor {last.command} {verb} it on "
            f"{when} UTC; since then {diff_summary(since)}. alembic never runs it again on "
            "this database: the edit reaches new databases only."
        )
        findings.append(
            Finding(
                check=SLUG,
                code=CODE,
                severity=Severity.WARNING,
                title="a revision file changed after it was applied",
                message=message,
                evidence={
                    "revision": revision,
                    "path": since.path,
                    "recorded_sha256": since.recorded_sha256,
                    "current_sha256": since.current_sha256,
                    "lines_added": since.lines_added,
                    "lines_removed": since.lines_removed,
                    "applied_at": last.applied_at,
                    "direction": last.direction,
                    "command": last.command,
                    "ledger_table": ledger.table,
                    "ledger_entry": last.id,
                },
                locations=(facts.project.revision_location(graph.scripts[revision]),),
            )
        )
    return findings


def diff_summary(since: FileSinceApply) -> str:
    if since.lines_added is None or since.lines_removed is None:
        return "its sha256 differs (the text recorded then was not kept)"
    added = f"{since.lines_added} line{'s' if since.lines_added != 1 else ''} added"
    removed = f"{since.lines_removed} removed"
    return f"{added}, {removed}"
