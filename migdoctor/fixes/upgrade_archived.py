"""upgrade-archived: run the revisions a squash archived, from the database's revision up to the
revision the squash kept.

What it does
------------
For a database at a revision that ``migdoctor squash`` archived (``behind-squash``): alembic
loads the archive folder ``<script_location>/squashed/<REV>/`` as the history and runs its
``upgrade()``s from the database's revision up to REV, through the project's env.py, under the
migration lock, as ``migdoctor upgrade`` does. The database is then at REV, whose id the new
history kept, and continues with ``migdoctor upgrade``.

Risk
----
caution: it runs migrations, written and reviewed once, that the history no longer shows; a
revision that fails half way on MySQL leaves its DDL applied (as any upgrade would).

Undo
----
It cannot be undone by ``migdoctor undo``: going back would run the archived ``downgrade()``s,
which the history no longer holds. Run them by hand with alembic pointed at the archive folder
(``version_locations``) if ever needed.
"""

from __future__ import annotations

from migdoctor.facts.model import Facts
from migdoctor.findings import Risk
from migdoctor.project.graph import RevisionGraph
from migdoctor.repair.plan import FixRequest, MigrationRun, Plan, refused

FIX_ID = "upgrade-archived"
NEEDS_DATABASE = True
RISK = Risk.CAUTION


def plan(facts: Facts, request: FixRequest) -> Plan:
    database = facts.database
    title = "Run the archived revisions up to the revision the squash kept"
    if database is None:
        return refused(FIX_ID, title, RISK, "upgrade-archived needs the database.")
    archived = facts.archived_current
    if not archived:
        return refused(
            FIX_ID, title, RISK, "The version table names no revision a squash archived."
        )
    archives = {archive.folder for archive in archived.values()}
    rows = database.version_rows
    if len(archives) > 1 or set(rows) - set(archived):
        return refused(
            FIX_ID,
            title,
            RISK,
            f"The version table holds {', '.join(rows)}: not all in one squash archive. "
            "Bring each branch to the squashed revision by hand.",
        )
    archive = next(iter(archived.values()))
    graph = RevisionGraph(archive.scripts)
    steps = tuple(
        (revision, graph.scripts[revision].doc) for revision in graph.pending(rows, [archive.up_to])
    )
    relative = facts.project.relative(archive.folder)
    return Plan(
        fix=FIX_ID,
        title=f"Run {len(steps)} archived revision(s) from {', '.join(rows)} up to {archive.up_to}",
        risk=RISK,
        migration=MigrationRun(
            direction="upgrade",
            destination=archive.up_to,
            steps=steps,
            rows_before=rows,
            version_locations=(archive.folder,),
        ),
        warnings=(
            f"The revisions run from {relative}, where migdoctor squash archived them; "
            f"afterwards the database is at {archive.up_to} and continues with the history.",
        ),
        irreversible="going back would run archived downgrade()s the history no longer holds",
        arguments={"revision": archive.up_to},
    )
