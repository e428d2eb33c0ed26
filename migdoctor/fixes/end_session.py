"""end-session: end another database session that holds locks the upgrade waits for.

What it does
------------
The last resort against lock contention: ``KILL`` on MySQL/MariaDB, ``pg_terminate_backend`` on
PostgreSQL, for one session that ``migdoctor check`` names as holding a lock or an open
transaction on a table the pending revisions alter (``--session ID``). Its open transaction is
rolled back and whoever uses it sees an error. It runs only with consent.

Risk
----
dangerous: the application or person using the session loses its work in progress.

Undo
----
It cannot be undone: a session that was ended cannot be brought back. ``migdoctor undo`` passes
over it with a note, and the fixes before it stay undoable.
"""

from __future__ import annotations

from migdoctor.facts.model import Facts
from migdoctor.findings import Risk
from migdoctor.repair.plan import FixRequest, Plan, SessionEnd, refused

FIX_ID = "end-session"
NEEDS_DATABASE = True
RISK = Risk.DANGEROUS


def plan(facts: Facts, request: FixRequest) -> Plan:
    database = facts.database
    title = (
        f"End database session {request.session}"
        if request.session
        else "End another database session"
    )
    if database is None:
        return refused(FIX_ID, title, RISK, "end-session needs the database.")
    if database.dialect not in ("mysql", "mariadb", "postgresql"):
        return refused(FIX_ID, title, RISK, f"{database.dialect} has no sessions to end.")
    if not request.session or not request.session.isdigit():
        return refused(FIX_ID, title, RISK, "end-session needs --session ID (a number).")
    known = {session.session_id: session for session in database.blocking_sessions}
    session = known.get(request.session)
    if session is None:
        return refused(
            FIX_ID,
            title,
            RISK,
            f"Session {request.session} holds no lock or transaction that the pending revisions "
            "wait for (migdoctor check lists the ones that do): nothing to end.",
        )
    return Plan(
        fix=FIX_ID,
        title=title,
        risk=RISK,
        end_session=SessionEnd(
            session_id=session.session_id,
            statement=session.ending_statement(database.dialect),
            described_as=session.describe(),
        ),
        warnings=(
            "Its open transaction is rolled back, and the application or person using it gets "
            "an error. This cannot be undone.",
        ),
        arguments={"session": session.session_id},
        irreversible="A session that was ended cannot be brought back.",
    )
