"""The precise account of a guarded run that stopped part-way: which revision failed or was
interrupted, whether it waited too long for a lock, and the sessions in the way."""

from __future__ import annotations

from typing import Any

from migdoctor.database.bounds import READ_TIMEOUT_SECONDS, read_bounded
from migdoctor.database.held_lock import LockLost
from migdoctor.database.migration_steps import RunState
from migdoctor.database.sessions import sessions_on_tables
from migdoctor.errors import (
    MigdoctorError,
    Terminated,
    describe_exception,
    driver_error,
)
from migdoctor.facts.migration_run import RevisionFailed
from migdoctor.facts.sessions import SessionInfo

TableRef = tuple[str | None, str]


def is_lock_timeout(error: BaseException | None) -> bool:
    """MySQL 1205 (lock wait timeout), PostgreSQL 55P03 (lock_not_available) or SQLite's
    "database is locked" (the busy timeout ran out)."""
    original = getattr(error, "orig", error)
    if original is None:
        return False
    if type(original).__name__ == "OperationalError" and "database is locked" in str(original):
        return True
    if (
        getattr(original, "sqlstate", None) == "55P03"
        or getattr(original, "pgcode", None) == "55P03"
    ):
        return True
    arguments: tuple[Any, ...] = tuple(getattr(original, "args", ()))
    return bool(arguments) and arguments[0] == 1205


def revision_failure(
    error: MigdoctorError,
    running: tuple[str, str],
    state: RunState,
    touched_tables: dict[str, set[TableRef]],
) -> RevisionFailed:
    revision, doc = running
    cause = error.__cause__ or error
    lock_timeout = is_lock_timeout(cause)
    statement = getattr(cause, "statement", None)
    blockers: tuple[SessionInfo, ...] = ()
    engine = state.engine
    if lock_timeout and engine is not None:
        try:
            tables = touched_tables.get(revision, set()) or None
            blockers = read_bounded(
                engine, READ_TIMEOUT_SECONDS, lambda session: sessions_on_tables(session, tables)
            )
        except Exception:  # noqa: BLE001 - the report goes on without the sessions
            blockers = ()
    reason = (
        "waited too long for a lock" if lock_timeout else describe_exception(driver_error(cause))
    )
    return RevisionFailed(
        f"Revision {revision}{f' ({doc})' if doc else ''} failed: {reason}",
        revision=revision,
        doc=doc,
        cause=cause,
        lock_timeout=lock_timeout,
        statement=statement,
        blockers=blockers,
        rows_before=state.before,
        completed=tuple(step[0] for step in state.steps),
        dialect=engine.dialect.name if engine is not None else "",
    )


def stopped_failure(
    error: LockLost, upcoming: tuple[str, str], state: RunState, direction: str
) -> RevisionFailed:
    revision, doc = upcoming
    done = len(state.steps)
    return RevisionFailed(
        f"{error.message.rstrip('.')}: the {direction} stopped before revision {revision}"
        f"{f' ({doc})' if doc else ''}, after {done} revision{'s' if done != 1 else ''}.",
        revision=revision,
        doc=doc,
        cause=error,
        lock_timeout=False,
        statement=None,
        blockers=(),
        rows_before=state.before,
        started=False,
        completed=tuple(step[0] for step in state.steps),
        dialect=state.engine.dialect.name if state.engine is not None else "",
    )


def interrupted_failure(
    interrupt: KeyboardInterrupt, step: tuple[str, str], state: RunState
) -> RevisionFailed:
    revision, doc = step
    how = "Terminated (SIGTERM)" if isinstance(interrupt, Terminated) else "Interrupted (Ctrl-C)"
    started = state.running is not None
    where = "while revision" if started else "before revision"
    return RevisionFailed(
        f"{how} {where} {revision}{f' ({doc})' if doc else ''}{' was running' if started else ''}.",
        revision=revision,
        doc=doc,
        cause=interrupt,
        lock_timeout=False,
        statement=None,
        blockers=(),
        rows_before=state.before,
        interrupted=how,
        started=started,
        completed=tuple(s[0] for s in state.steps),
        dialect=state.engine.dialect.name if state.engine is not None else "",
    )
