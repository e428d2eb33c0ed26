"""migration-in-progress: another run (an upgrade, a downgrade, a fix) is changing the database.

What it detects
---------------
Another session holds the database's migration lock, the one ``migdoctor upgrade``,
``downgrade``, ``stamp``, every ``fix`` and ``undo`` take before they read anything (MySQL and
MariaDB ``GET_LOCK``, a PostgreSQL advisory lock, a lock file beside a SQLite database). The
finding names that session (or process), how long it has held the lock, what it is doing and
the revision it is running, from the marks the running migdoctor leaves beside its lock.

Why it matters
--------------
While a run is under way the database is between two states: a table of the running revision
exists and its index does not yet, the version table still names the revision before. Read as a
finished state, that looks like a half-applied revision (``partial-migration``) or a table that
already exists (``table-exists``), and their repairs — ``stamp --force``, ``neuter-upgrade`` —
would damage what the run is doing. So while this finding stands, the checks that read the
pending revisions' state (``partial-migration``, ``table-exists``, ``stale-current``,
``lock-contention``, ``schema-drift``) are skipped.

How to fix
----------
Nothing to repair: wait for the run to finish, then run ``migdoctor check`` again. A second
``migdoctor upgrade`` waits for the lock by itself and carries on from where the first one left
the database. If the run is stuck, the session holding the lock is named; ending it stops the
run before its next revision.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, Severity

SLUG = "migration-in-progress"
CODE = "MD109"

DOING = {
    "upgrade": "An upgrade is in progress",
    "downgrade": "A downgrade is in progress",
    "stamp": "A stamp is in progress",
    "fix": "A migdoctor fix is in progress",
    "undo": "A migdoctor undo is in progress",
}


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=True,
    healthy="no other run holds the migration lock",
    reads_tables=OPERATION_TABLES,
)
def another_run_holds_the_lock(facts: Facts) -> list[Finding]:
    database = facts.database
    run = database.run_in_progress if database is not None else None
    if run is None:
        return []
    title = DOING.get(run.purpose or "", "A migration run is in progress")
    revision = ""
    if run.revision:
        doc = (
            facts.project.graph.scripts[run.revision].doc
            if run.revision in facts.project.graph
            else ""
        )
        revision = f", running revision {run.revision}{f' ({doc})' if doc else ''}"
    since = f" for {run.seconds}s" if run.seconds is not None else ""
    holder = run.holder.describe() if run.holder else run.process or "another run"
    message = (
        f"{title}: {holder} has held this database's migration lock{since}{revision}. "
        "The schema and the version table are between two states until it ends, so the checks "
        "of pending revisions are skipped: wait for it to finish, then check again."
    )
    evidence = {
        "doing": run.purpose,
        "session": run.holder.session_id if run.holder else None,
        "holder": run.holder.describe() if run.holder else None,
        "process": run.process,
        "seconds_held": run.seconds,
        "revision": run.revision,
    }
    return [
        Finding(
            check=SLUG,
            code=CODE,
            severity=Severity.ERROR,
            title=title,
            message=message,
            evidence={k: v for k, v in evidence.items() if v is not None},
            locations=facts.project.revision_locations([run.revision])
            if run.revision
            else facts.project.config_location,
        )
    ]
