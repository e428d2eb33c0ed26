"""Run alembic's own upgrade, downgrade or stamp, guarded: one at a time, with a lock timeout,
step by step in view, and a precise account when a revision fails.

The steps are alembic's (``ScriptDirectory._upgrade_revs`` / ``_downgrade_revs`` /
``_stamp_revs``, what ``alembic.command`` runs), inside the project's env.py. migdoctor adds:

- the database's migration lock around the whole run (a second run waits, then proceeds from
  wherever the first one left the database), verified before each revision: a run whose lock
  session was ended on the server stops before its next revision;
- a limit on how long a statement waits for a lock (MySQL ``lock_wait_timeout`` and
  ``innodb_lock_wait_timeout``, PostgreSQL ``lock_timeout``);
- events for each revision started and finished, for a progress display;
- on failure or interrupt, which revision was running, and, for a lock timeout, the sessions in
  the way;
- for a fix, what each revision really created (``observe_schema``: the schema's names read
  before and after it, on the run's own connection), so the journal can say it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migdoctor.database.bounds import READ_TIMEOUT_SECONDS, bounded, gave_up, read_timeout
from migdoctor.database.held_lock import HeldLock, LockLost
from migdoctor.database.locking import migration_lock
from migdoctor.database.sessions import sessions_on_tables
from migdoctor.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    MigdoctorError,
    Terminated,
)
from migdoctor.facts.model import ProjectFacts, SessionInfo
from migdoctor.project.scripts import describe_exception

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.engine import Engine

UPGRADE, DOWNGRADE, STAMP = "upgrade", "downgrade", "stamp"
TableRef = tuple[str | None, str]


@dataclass
class MigrationEvents:
    """What a progress display hears about; every callback is optional."""

    lock_wait: Callable[[str], None] = lambda holder: None
    started: Callable[[int, int, str, str], None] = lambda index, total, revision, doc: None
    finished: Callable[[int, int, str, str, float], None] = (
        lambda index, total, revision, doc, seconds: None
    )
    # the run is over, whichever way it went
    ended: Callable[[], None] = lambda: None


@dataclass
class _RunState:
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


@dataclass
class MigrationResult:
    rows_before: tuple[str, ...]
    rows_after: tuple[str, ...]
    steps: list[tuple[str, str, float]] = field(default_factory=list)


class RevisionFailed(MigdoctorError):
    """A run stopped part-way: a revision failed, the run was interrupted (``interrupted``
    says how), or it stopped before ``revision`` (``started`` False) because its lock was lost.
    The database rolled back what it could."""

    exit_code = EXIT_FAILED

    def __init__(
        self,
        message: str,
        revision: str,
        doc: str,
        cause: BaseException,
        lock_timeout: bool,
        statement: str | None,
        blockers: tuple[SessionInfo, ...],
        rows_before: tuple[str, ...],
        interrupted: str | None = None,
        started: bool = True,
        completed: tuple[str, ...] = (),
        dialect: str = "",
    ) -> None:
        super().__init__(message)
        # the database's own dialect: the SQL that ends a session differs (KILL, pg_terminate)
        self.dialect = dialect
        self.revision = revision
        self.doc = doc
        self.cause = cause
        self.lock_timeout = lock_timeout
        self.statement = statement
        self.blockers = blockers
        self.rows_before = rows_before
        self.interrupted = interrupted
        self.started = started
        self.completed = completed
        if interrupted is not None:
            self.exit_code = EXIT_TERMINATED if isinstance(cause, Terminated) else EXIT_INTERRUPTED


@contextmanager
def hold_migration_lock(
    project: ProjectFacts,
    lock_timeout: float,
    *,
    purpose: str,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Take the database's migration lock before anything is read, and hold it until the block
    ends: the facts gathered, the plan made and what runs are then this run's alone (a second
    run waits here, and then reads what the first one left). What runs inside finds the lock
    already held.

    An async env.py hands migdoctor a connection usable only inside its own run: then the lock
    is taken inside each run instead, as before."""
    from migdoctor.database.environment import run_environment

    with ExitStack() as held:

        def work(context: MigrationContext, script: Any) -> list[Any]:
            connection = context.connection
            assert connection is not None  # run_environment refuses offline mode
            if getattr(connection.dialect, "is_async", False):
                return []
            held.enter_context(
                migration_lock(
                    connection,
                    context.version_table,
                    context.version_table_schema,
                    lock_timeout,
                    on_wait=on_wait,
                    purpose=purpose,
                )
            )
            return []

        run_environment(
            project,
            work,
            read_only=True,
            action="Taking the migration lock",
            # alembic reads the version table before handing over: bounded as every read is
            read_timeout=read_timeout(project.config.options),
        )
        yield


def run_migration(
    project: ProjectFacts,
    direction: str,
    destination: str | tuple[str, ...],
    *,
    lock_timeout: float,
    events: MigrationEvents | None = None,
    expected_rows: tuple[str, ...] | None = None,
    touched_tables: dict[str, set[TableRef]] | None = None,
    tag: str | None = None,
    purge: bool = False,
    observe_schema: Callable[[str, dict[str, Any]], None] | None = None,
) -> MigrationResult:
    """Run the steps from wherever the database is (``expected_rows``: refuse if it moved).
    ``observe_schema`` hears, after each revision, the tables, columns and indexes it created."""
    from migdoctor.database.capture import read_version_rows
    from migdoctor.database.environment import run_environment

    events = events or MigrationEvents()
    state = _RunState(observe_schema=observe_schema)

    def lock_once_configured(environment: Any, env_py: Any) -> None:
        """Take the lock as soon as env.py has configured its connection: before alembic reads
        the version table, so a run that waited starts from what the other one left."""
        configure = environment.configure

        def configure_then_lock(*args: Any, **kw: Any) -> None:
            configure(*args, **kw)
            context = environment.get_context()
            if context.connection is None or context.as_sql or state.locked:
                return
            state.lock = held.enter_context(
                migration_lock(
                    context.connection,
                    context.version_table,
                    context.version_table_schema,
                    lock_timeout,
                    on_wait=events.lock_wait,
                    purpose=direction,
                )
            )
            state.locked = True
            # before alembic reads the version table: a lock on it must not hang the run either
            limit_lock_waits(context.connection, lock_timeout)
            state.engine = context.connection.engine
            state.version_table = (context.version_table, context.version_table_schema)

        environment.configure = configure_then_lock

    def work(context: MigrationContext, script: Any) -> Iterable[Any]:
        connection = context.connection
        assert connection is not None
        state.engine = connection.engine
        state.connection = connection
        state.version_table = (context.version_table, context.version_table_schema)
        heads = tuple(context.get_current_heads())
        state.before = heads
        if expected_rows is not None and sorted(heads) != sorted(expected_rows):
            raise MigdoctorError(
                "The version table changed since the plan was made "
                f"(now: {', '.join(heads) or 'empty'}); nothing was run."
            )
        if direction == UPGRADE:
            steps = script._upgrade_revs(destination, heads)
        elif direction == DOWNGRADE:
            steps = script._downgrade_revs(destination, heads)
        else:
            if purge:
                context._ensure_version_table(purge=True)
                heads = ()
            steps = script._stamp_revs(destination, heads)
        return [
            _observed(step, index, len(steps), state, events) for index, step in enumerate(steps, 1)
        ]

    context_options: dict[str, Any] = {"tag": tag} if tag else {}
    with ExitStack() as held:
        held.callback(events.ended)
        try:
            run_environment(
                project,
                work,
                read_only=False,
                action=f"The {direction}",
                prepare=lock_once_configured,
                **context_options,
            )
        except LockLost as error:
            upcoming = state.upcoming
            if upcoming is None:
                raise
            raise _stopped(error, upcoming, state, direction) from error
        except MigdoctorError as error:
            running = state.running
            if running is None and state.engine is not None and is_lock_timeout(error.__cause__):
                # no revision ran yet: alembic was reading (or creating) the version table
                table = state.version_table[0]
                what = f"the version table {table}"
                raise gave_up(state.engine, lock_timeout, what, table, []) from error.__cause__
            if running is None:
                raise
            raise _revision_failed(error, running, state, touched_tables or {}) from error.__cause__
        except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM (Terminated)
            step = state.running or state.upcoming
            if step is None:
                raise
            raise _interrupted(interrupt, step, state) from interrupt
    engine = state.engine
    rows_after: tuple[str, ...] = ()
    if engine is not None:
        table, schema = state.version_table
        with engine.connect() as connection, bounded(connection, READ_TIMEOUT_SECONDS):
            from sqlalchemy import inspect

            if inspect(connection).has_table(table, schema=schema):
                rows_after = read_version_rows(connection, table, schema)
    return MigrationResult(state.before, rows_after, state.steps)


def limit_lock_waits(connection: Any, seconds: float) -> None:
    """Make a statement give up after ``seconds`` waiting for a lock (0: wait for ever); on
    SQLite the busy timeout, which replaces the driver's own 5 s."""
    from sqlalchemy import text

    from migdoctor.database.bounds import sqlite_busy_ms

    dialect = connection.dialect.name
    if dialect == "sqlite":
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {sqlite_busy_ms(seconds)}")
        return
    if seconds <= 0:
        return
    whole = max(1, round(seconds))
    if dialect in ("mysql", "mariadb"):
        connection.execute(text(f"SET SESSION lock_wait_timeout = {whole}"))
        connection.execute(text(f"SET SESSION innodb_lock_wait_timeout = {whole}"))
    elif dialect == "postgresql":
        connection.execute(text(f"SET lock_timeout = '{int(seconds * 1000)}ms'"))


def _observed(step: Any, index: int, total: int, state: _RunState, events: MigrationEvents) -> Any:
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


def _schema_names(state: _RunState) -> Any:
    """The schema's names on the run's connection, when a fix asked for them (None when they
    cannot be read: the journal then does not claim to know what the revision created)."""
    if state.observe_schema is None or state.connection is None:
        return None
    from migdoctor.database.snapshot import read_schema_names

    try:
        return read_schema_names(state.connection, exclude=(state.version_table[0],))
    except Exception:  # noqa: BLE001 - the run goes on; undo will say what it cannot know
        return None


def _revision_id(step: Any) -> str:
    script = getattr(step, "revision", None)
    if script is not None:
        return str(script.revision)
    return ", ".join(getattr(step, "to_revisions", ())) or str(step)  # a stamp step


def _doc(step: Any) -> str:
    revision = getattr(step, "revision", None)
    return str(getattr(revision, "doc", "") or "")


def _original(error: BaseException) -> BaseException:
    """The driver's own error inside SQLAlchemy's wrapper: its message is the one users know."""
    return getattr(error, "orig", None) or error


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


def _revision_failed(
    error: MigdoctorError,
    running: tuple[str, str],
    state: _RunState,
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
            with engine.connect() as session, bounded(session, READ_TIMEOUT_SECONDS):
                blockers = sessions_on_tables(session, touched_tables.get(revision, set()) or None)
        except Exception:  # noqa: BLE001 - the report goes on without the sessions
            blockers = ()
    reason = "waited too long for a lock" if lock_timeout else describe_exception(_original(cause))
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


def _stopped(
    error: LockLost, upcoming: tuple[str, str], state: _RunState, direction: str
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


def _interrupted(
    interrupt: KeyboardInterrupt, step: tuple[str, str], state: _RunState
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
