"""lock-contention: other sessions hold locks on tables the pending revisions alter.

What it detects
---------------
Sessions other than migdoctor's own that hold a lock, or an open transaction, on a table that a
pending revision creates, alters or drops: an application worker inside a transaction, a long
query, a database console left open. On PostgreSQL the locks are read from ``pg_locks``; on
MySQL from ``performance_schema.metadata_locks``, or, where performance_schema is off (MariaDB's
default), every session with an open transaction is listed as a candidate. On SQLite another
connection holding the database's write lock (an open write transaction, ``BEGIN IMMEDIATE``) is
reported, without a name: SQLite cannot say which process holds it. Reading them waits on no
lock.

``check`` itself never waits for ever: every read it makes gives up after a few seconds (5 by
default, ``--lock-timeout SECONDS``), and when a lock is in the way of the check's own reads
(the version table, a table it reflects) it stops with exit code 2 and one line naming the table
and the session holding or queued on it.

Why it matters
--------------
``alembic upgrade head`` waits for those locks — MySQL for a metadata lock, PostgreSQL for an
ACCESS EXCLUSIVE lock — and alembic waits for ever, saying nothing: the upgrade "hangs", and
meanwhile every new query on that table queues behind it. Restarting the database "fixes" it by
killing everything.

How to fix
----------
Let the other session finish (commit or roll back its transaction, close the console), then
upgrade. ``migdoctor upgrade --lock-timeout SECONDS`` gives up after that long and names the
session in the way (on SQLite it is the busy timeout, instead of the driver's 5 s). As a last
resort ``migdoctor fix end-session --session ID`` ends that one session (its transaction is
rolled back), and only with your consent; on SQLite, end the program that has the file open.
"""

from __future__ import annotations

from migdoctor.checks import NotApplicable, check, require_known_current, require_no_run_in_progress
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.facts.sessions import OPEN_TRANSACTION, SQLITE_WRITE_LOCK, SessionInfo
from migdoctor.findings import Finding, Severity
from migdoctor.fixes.options import fix_option

SLUG = "lock-contention"
CODE = "MD104"


@check(
    SLUG,
    CODE,
    Severity.WARNING,
    needs_database=True,
    healthy="no other session holds locks on tables the pending revisions alter",
    reads_tables=OPERATION_TABLES,
)
def sessions_block_pending_revisions(facts: Facts) -> list[Finding]:
    require_known_current(facts)
    require_no_run_in_progress(facts)
    database = facts.database
    if database is not None and database.sessions_unreadable and facts.pending:
        raise NotApplicable(database.sessions_unreadable)
    if database is None or not facts.pending or not database.blocking_sessions:
        return []
    sessions = database.blocking_sessions
    tables = sorted(
        {
            op.qualified_table
            for recorded in facts.recorded(facts.pending)
            for op in recorded.operations
            if op.qualified_table
        }
    )
    if all(session.evidence == SQLITE_WRITE_LOCK for session in sessions):
        return [_sqlite_write_lock(facts, sessions[0], tables)]
    probable = all(session.evidence == OPEN_TRANSACTION for session in sessions)
    one = len(sessions) == 1
    if probable:
        holds = "has an open transaction" if one else "have open transactions"
    else:
        holds = "holds locks" if one else "hold locks"
    message = (
        f"{len(sessions)} other session{'' if one else 's'} {holds} that the "
        f"pending revisions would wait for ({', '.join(tables)}): "
        + "; ".join(session.describe() for session in sessions)
        + ". alembic upgrade would wait for them without saying so."
    )
    if probable:
        message += (
            " (performance_schema is off, so which tables they lock cannot be confirmed: "
            "they are the sessions with an open transaction.)"
        )
    return [
        Finding(
            check=SLUG,
            code=CODE,
            severity=Severity.WARNING,
            title="Other sessions hold locks the upgrade would wait for",
            message=message,
            evidence={
                "tables": tables,
                "sessions": [session.as_evidence() for session in sessions],
            },
            locations=facts.project.revision_locations(facts.pending[:1]),
            fixes=tuple(
                fix_option(
                    facts,
                    "end-session",
                    f"End session {session.session_id} (its transaction is rolled back)",
                    why="the application or person using it sees an error; last resort",
                    session=session.session_id,
                )
                for session in sessions
            ),
        )
    ]


def _sqlite_write_lock(facts: Facts, holder: SessionInfo, tables: list[str]) -> Finding:
    return Finding(
        check=SLUG,
        code=CODE,
        severity=Severity.WARNING,
        title="Another connection holds SQLite's write lock the upgrade would wait for",
        message=(
            f"Another connection holds the write lock of {holder.client} (an open write "
            f"transaction, or BEGIN IMMEDIATE/EXCLUSIVE): the pending revisions "
            f"({', '.join(tables)}) would wait for it, then fail with 'database is locked'. "
            "SQLite cannot say which process holds it: look for a program or console that has "
            "this file open."
        ),
        evidence={"tables": tables, "sessions": [holder.as_evidence()]},
        locations=facts.project.revision_locations((facts.pending or ())[:1]),
    )
