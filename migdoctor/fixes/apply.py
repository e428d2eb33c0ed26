"""Apply a plan: the only code in migdoctor that writes.

Order of events: the journal records the plan and the state before; the database's migration
lock is taken; the state is checked to be still what the plan saw; the change is made (version
table rows in one transaction, files through a temporary file renamed into place, migrations
through alembic's own upgrade/downgrade); the lock is released after the commit; the state is
read again and the journal says what it now is. A failure or an interrupt is journaled with the
state it left (``old``, ``new``, or what was seen).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migdoctor.database.locking import begin_immediate, migration_lock
from migdoctor.database.migrations import MigrationEvents, run_migration
from migdoctor.errors import CannotCheck
from migdoctor.facts import Facts, ProjectFacts
from migdoctor.fixes.journal import Journal, sha256
from migdoctor.fixes.plan import (
    FileChange,
    MergeRevision,
    Plan,
    SessionEnd,
    VersionTableChange,
)
from migdoctor.fixes.version_table import row_statements
from migdoctor.project.scripts import describe_exception

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext

DEFAULT_LOCK_TIMEOUT = 60.0


class FixFailed(CannotCheck):
    """The fix did not complete; the message says which state it left."""

    exit_code = 1


@dataclass
class Applied:
    entry_id: str
    after: dict[str, Any] = field(default_factory=dict)


def database_record(facts: Facts) -> dict[str, Any] | None:
    database = facts.database
    if database is None:
        return None
    return {
        "url": database.url,
        "dialect": database.dialect,
        "version_table": database.qualified_version_table,
    }


def apply_plan(
    facts: Facts,
    plan: Plan,
    journal: Journal,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    undoes: str | None = None,
    events: MigrationEvents | None = None,
) -> Applied:
    """Carry out ``plan``; raises FixFailed (journaled) when it cannot complete."""
    if plan.refusal:
        raise FixFailed(plan.refusal)
    project = facts.project
    entry_id = journal.start(plan, database_record(facts), undoes=undoes)
    after: dict[str, Any] = {}
    try:
        if plan.version_table is not None:
            after["version_rows"] = list(
                change_version_table(project, plan.version_table, lock_timeout)
            )
        if plan.files:
            write_files(plan.files)
            after["files"] = [{"path": str(c.path), "sha256": sha256(c.after)} for c in plan.files]
        if plan.migration is not None:
            result = run_migration(
                project,
                plan.migration.direction,
                plan.migration.destination,
                lock_timeout=lock_timeout,
                events=events,
                expected_rows=facts.database.version_rows if facts.database else (),
            )
            after["version_rows"] = list(result.rows_after)
        if plan.end_session is not None:
            end_session(project, plan.end_session)
            after["ended_session"] = plan.end_session.session_id
        if plan.merge is not None:
            created = write_merge_revision(project, plan.merge)
            after["created"] = [{"path": str(created), "sha256": sha256(created.read_bytes())}]
    except KeyboardInterrupt:
        state = _state_after_failure(facts, plan)
        journal.finish(entry_id, "interrupted", state=state)
        raise FixFailed(f"Interrupted; the journal records the state it left: {state}.") from None
    except BaseException as error:  # any failure is journaled with the state it left
        state = _state_after_failure(facts, plan)
        message = error.message if isinstance(error, CannotCheck) else describe_exception(error)
        hint = error.hint if isinstance(error, CannotCheck) else None
        journal.finish(entry_id, "failed", state=state, error=message)
        raise FixFailed(f"{message.rstrip('.')} (state left: {state}).", hint=hint) from error
    journal.finish(entry_id, "applied", after=after)
    return Applied(entry_id, after)


# -- the version table ---------------------------------------------------------------------------


def change_version_table(
    project: ProjectFacts, change: VersionTableChange, lock_timeout: float
) -> tuple[str, ...]:
    """Change the rows in one transaction, under the lock; returns the rows now there."""
    from migdoctor.database.capture import read_version_rows
    from migdoctor.database.environment import run_environment

    rows_now: list[str] = []

    def work(context: MigrationContext, script: Any) -> list[Any]:
        from sqlalchemy import inspect

        connection = context.connection
        assert connection is not None
        if context.version_table != change.table:
            raise CannotCheck(
                f"env.py now names the version table {context.version_table}, "
                f"not {change.table}: nothing was changed."
            )
        held.enter_context(
            migration_lock(connection, change.table, context.version_table_schema, lock_timeout)
        )
        with context.begin_transaction(_per_migration=True):
            begin_immediate(connection, lock_timeout)
            schema = context.version_table_schema
            exists = inspect(connection).has_table(change.table, schema=schema)
            rows = read_version_rows(connection, change.table, schema) if exists else ()
            if sorted(rows) != sorted(change.rows_before) or (
                not exists and not change.create_table
            ):
                raise CannotCheck(
                    "The version table changed since the plan was made "
                    f"(now: {', '.join(rows) or 'empty'}); nothing was changed. Run it again."
                )
            if change.create_table and not exists:
                context._version.create(connection)
            for statement in row_statements(change):
                result = connection.execute(statement)
                if getattr(result, "rowcount", 1) not in (1, -1):
                    raise CannotCheck("The version table changed during the fix; rolled back.")
            if change.drop_table:
                context._version.drop(connection)
                rows_now.clear()
            else:
                rows_now[:] = read_version_rows(connection, change.table, schema)
        return []

    with ExitStack() as held:
        # the lock is released only after env.py has committed
        run_environment(project, work, read_only=True, action="Changing the version table")
    return tuple(rows_now)


# -- migrations ------------------------------------------------------------------------------------


def end_session(project: ProjectFacts, ending: SessionEnd) -> None:
    """End another session (it must still exist): KILL or pg_terminate_backend."""
    from sqlalchemy import text

    from migdoctor.database.environment import run_environment

    def work(context: MigrationContext, script: Any) -> list[Any]:
        connection = context.connection
        assert connection is not None
        with connection.engine.connect() as session:
            session.execute(text(ending.statement))
        return []

    run_environment(project, work, read_only=True, action=f"Ending session {ending.session_id}")


# -- files -----------------------------------------------------------------------------------------


def write_files(changes: tuple[FileChange, ...]) -> None:
    """Check every file is as planned, then write each through a temporary file + rename."""
    for change in changes:
        current = change.path.read_bytes() if change.path.exists() else None
        if sha256(current) != sha256(change.before):
            raise CannotCheck(
                f"{change.path} changed since the plan was made; nothing was written."
            )
    for change in changes:
        if change.after is None:
            change.path.unlink()
        else:
            write_atomically(change.path, change.after)


def write_atomically(path: Path, data: bytes) -> None:
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".migdoctor", dir=path.parent
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_merge_revision(project: ProjectFacts, merge: MergeRevision) -> Path:
    from alembic import command

    config = project.config.alembic_config()
    script = command.merge(
        config, list(merge.heads), message=merge.message, rev_id=merge.revision_id
    )
    if script is None:
        raise CannotCheck("alembic did not write the merge revision.")
    return Path(script.path)


# -- what a failure left ---------------------------------------------------------------------------


def _state_after_failure(facts: Facts, plan: Plan) -> str:
    """``old`` or ``new`` when the state can be read and is one of them; else what was seen."""
    try:
        if plan.version_table is not None or plan.migration is not None:
            from migdoctor.database.capture import RECORD_NONE, capture_database

            rows = capture_database(facts.project, record=RECORD_NONE).database.version_rows
            before = facts.database.version_rows if facts.database else ()
            if sorted(rows) == sorted(before):
                return "old"
            if plan.version_table is not None and sorted(rows) == sorted(
                plan.version_table.rows_after
            ):
                return "new"
            return f"version table now holds {', '.join(rows) or 'nothing'}"
        if plan.files:
            states = set()
            for change in plan.files:
                current = change.path.read_bytes() if change.path.exists() else None
                states.add("old" if sha256(current) == sha256(change.before) else "new")
            return states.pop() if len(states) == 1 else "mixed"
    except Exception as error:  # noqa: BLE001 - the state could not be read: say so
        return f"unknown ({describe_exception(error)})"
    return "old"
