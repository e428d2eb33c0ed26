"""Each step of a guarded run in view: the events a progress display hears, and what the run
learns as it goes (see :mod:`migdoctor.database.migrations`)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migdoctor.database.held_lock import HeldLock
from migdoctor.facts.migration_run import MigrationEvents

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from migdoctor.database.ledger import LedgerWriter


@dataclass
class RunState:
    """What a run learns as it goes: read back when it ends, or fails."""

    locked: bool = False
    engine: Engine | None = None
    version_table: tuple[str, str | None] = ("alembic_version", None)
    before: tuple[str, ...] = ()
    running: tuple[str, str] | None = None  # (revision, message) of the step under way
    upcoming: tuple[str, str] | None = None  # the step about to start
    steps: list[tuple[str, str, float]] = field(default_factory=list)
    lock: HeldLock | None = None
    connection: Any = None
    # told, after each revision, what it created (see database/snapshot.py)
    observe_schema: Callable[[str, dict[str, Any]], None] | None = None
    # records each revision run in migdoctor's ledger (None: not kept), in the run's transaction
    ledger: LedgerWriter | None = None
    direction: str = "upgrade"


def observed(step: Any, index: int, total: int, state: RunState, events: MigrationEvents) -> Any:
    """The same alembic step, reporting when it starts and ends."""
    run = step.migration_fn
    revision = _revision_id(step)
    doc = _doc(step)

    @functools.wraps(run)
    def migration_fn(**kw: Any) -> Any:
        state.upcoming = (revision, doc)
        lock = state.lock
        if lock is not None:
            lock.verify(state.connection)  # a run whose lock was lost stops here
        state.running = (revision, doc)
        events.started(index, total, revision, doc)
        before = _schema_names(state)
        started = time.monotonic()
        if lock is not None:
            with lock.running(state.connection, revision):
                result = run(**kw)
        else:
            result = run(**kw)
        seconds = time.monotonic() - started
        if state.ledger is not None and state.connection is not None:
            # before alembic moves the version row, on the same connection and transaction
            if getattr(step, "revision", None) is None:  # a stamp: what it records or takes back
                state.ledger.record_stamp(
                    state.connection,
                    tuple(getattr(step, "from_revisions", ())),
                    tuple(getattr(step, "to_revisions", ())),
                )
            else:
                state.ledger.record(state.connection, _applied(step), state.direction, seconds)
        if before is not None and state.observe_schema is not None:
            after = _schema_names(state)
            if after is not None:
                from migdoctor.database.snapshot import created_between

                state.observe_schema(revision, created_between(before, after))
        state.steps.append((revision, doc, seconds))
        state.running = None
        events.finished(index, total, revision, doc, seconds)
        return result

    step.migration_fn = migration_fn
    return step


def _schema_names(state: RunState) -> Any:
    """The schema's names on the run's connection, when a fix asked for them (None when they
    cannot be read: the journal then does not claim to know what the revision created)."""
    if state.observe_schema is None or state.connection is None:
        return None
    from migdoctor.database.snapshot import read_schema_names

    try:
        # migdoctor's ledger is created with the first revision it records: never the revision's
        own = (state.version_table[0], *((state.ledger.settings.table,) if state.ledger else ()))
        return read_schema_names(state.connection, exclude=own)
    except Exception:  # noqa: BLE001 - the run goes on; undo will say what it cannot know
        return None


def _revision_id(step: Any) -> str:
    script = getattr(step, "revision", None)
    if script is not None:
        return str(script.revision)
    return ", ".join(getattr(step, "to_revisions", ())) or str(step)  # a stamp step


def _applied(step: Any) -> tuple[str, ...]:
    """The revisions a step runs (upgrade or downgrade), or stamps."""
    script = getattr(step, "revision", None)
    if script is not None:
        return (str(script.revision),)
    return tuple(getattr(step, "to_revisions", ()))


def _doc(step: Any) -> str:
    revision = getattr(step, "revision", None)
    return str(getattr(revision, "doc", "") or "")
