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

The steps in view are :mod:`migdoctor.database.migration_steps`'s; the account of a failure,
:mod:`migdoctor.database.migration_failures`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migdoctor.database.bounds import (
    READ_TIMEOUT_SECONDS,
    gave_up,
    limit_lock_waits,
    limit_statement_time,
    read_bounded,
    read_timeout,
)
from migdoctor.database.held_lock import LockLost
from migdoctor.database.locking import migration_lock
from migdoctor.database.migration_failures import (
    TableRef,
    interrupted_failure,
    is_lock_timeout,
    revision_failure,
    stopped_failure,
)
from migdoctor.database.migration_steps import RunState, observed
from migdoctor.errors import MigdoctorError
from migdoctor.facts.migration_run import MigrationEvents
from migdoctor.facts.model import ProjectFacts

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.engine import Connection

UPGRADE, DOWNGRADE, STAMP = "upgrade", "downgrade", "stamp"


@dataclass
class MigrationResult:
    rows_before: tuple[str, ...]
    rows_after: tuple[str, ...]
    steps: list[tuple[str, str, float]] = field(default_factory=list)


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
    ledger_command: str | None = None,
    version_locations: tuple[Path, ...] = (),
) -> MigrationResult:
    """Run the steps from wherever the database is (``expected_rows``: refuse if it moved).
    ``observe_schema`` hears, after each revision, the tables, columns and indexes it created.
    Each revision is recorded in migdoctor's ledger (unless turned off), ``ledger_command``
    saying which command ran it (default: the direction). ``version_locations``: load the
    revisions from there (a squash archive)."""
    from migdoctor.database.environment import run_environment
    from migdoctor.database.ledger import LedgerWriter
    from migdoctor.database.version_table import read_version_rows

    events = events or MigrationEvents()
    ledger = LedgerWriter(project, command=ledger_command or direction, warn=events.warning)
    state = RunState(observe_schema=observe_schema, ledger=ledger, direction=direction)

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
            note = limit_statement_time(
                context.connection, project.config.options.statement_timeout
            )
            if note is not None:
                events.warning(note)
            state.engine = context.connection.engine
            state.version_table = (context.version_table, context.version_table_schema)

        environment.configure = configure_then_lock

    def work(context: MigrationContext, script: Any) -> Iterable[Any]:
        connection = context.connection
        assert connection is not None
        state.engine = connection.engine
        state.connection = connection
        # read again afterwards on a connection of its own, which has not the search_path
        # env.py may have set (Netflix/dispatch): the version table is named by its schema
        state.version_table = (
            context.version_table,
            context.version_table_schema
            or (
                connection.dialect.default_schema_name
                if connection.dialect.name == "postgresql"
                else None
            ),
        )
        heads = tuple(context.get_current_heads())
        state.before = heads
        if expected_rows is not None and sorted(heads) != sorted(expected_rows):
            raise MigdoctorError(
                "The version table changed since the plan was made "
                f"(now: {', '.join(heads) or 'empty'}); nothing was run."
            )
        ledger.prepare(connection, context.version_table_schema)
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
            observed(step, index, len(steps), state, events) for index, step in enumerate(steps, 1)
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
                alembic_command=direction,
                prepare=lock_once_configured,
                version_locations=version_locations,
                **context_options,
            )
        except LockLost as error:
            upcoming = state.upcoming
            if upcoming is None:
                raise
            raise stopped_failure(error, upcoming, state, direction) from error
        except MigdoctorError as error:
            running = state.running
            if running is None and state.engine is not None and is_lock_timeout(error.__cause__):
                # no revision ran yet: alembic was reading (or creating) the version table
                table = state.version_table[0]
                what = f"the version table {table}"
                raise gave_up(state.engine, lock_timeout, what, table, []) from error.__cause__
            if running is None:
                raise
            raise revision_failure(error, running, state, touched_tables or {}) from error.__cause__
        except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM (Terminated)
            step = state.running or state.upcoming
            if step is None:
                raise
            raise interrupted_failure(interrupt, step, state) from interrupt
    engine = state.engine
    rows_after: tuple[str, ...] = ()
    if engine is not None:
        table, schema = state.version_table

        def read_rows(connection: Connection) -> tuple[str, ...]:
            from sqlalchemy import inspect

            if inspect(connection).has_table(table, schema=schema):
                return read_version_rows(connection, table, schema)
            return ()

        rows_after = read_bounded(engine, READ_TIMEOUT_SECONDS, read_rows)
    return MigrationResult(state.before, rows_after, state.steps)
