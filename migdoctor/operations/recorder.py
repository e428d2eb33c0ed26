"""Record what a revision's ``upgrade()`` would do by running it against a recorder.

The function runs with ``alembic.op`` bound to an ``Operations`` whose ``invoke`` keeps each
``MigrateOperation`` instead of executing it. Inside a capture the migration context looks like
alembic's (env.py's config and opts, its dialect, ``op.get_bind()`` the live connection) so that
a revision guarded by ``if table_exists(...)`` or reading ``op.get_context().config`` records
what it would really do on this database; only questions reach the database (SELECT, an
inspector), a change sent through ``get_bind()`` is recorded as raw SQL instead of run, and SQL on
any other connection is refused. Elsewhere the context is offline (``as_sql``) and ``get_bind()``
a mock. ``autocommit_block()`` is noted, never entered. When a revision cannot be imported or
run, its literal operations are read from the source instead. The recording context itself is
:mod:`migdoctor.operations.recording_context`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migdoctor.errors import describe_exception
from migdoctor.facts.operations import RECORDED, Operation, RevisionOperations, UnreadCall
from migdoctor.operations.recording_context import (
    LiveSQLRefused,
    Recording,
    live_sql_refused,
    recording_operations,
)
from migdoctor.operations.static import ignored_codes, read_operations_statically, source_lines
from migdoctor.project.scripts import RevisionScript, load_module
from migdoctor.quiet import logging_held_back

if TYPE_CHECKING:
    from alembic.operations import MigrateOperation
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.engine import Dialect

    from migdoctor.operations.recording_cache import RecordingCache


class CannotRecord(Exception):
    """The revision's ``upgrade()`` cannot be recorded (the message says why)."""


def record_upgrades(
    scripts: list[RevisionScript],
    dialect: Dialect,
    live: MigrationContext | None = None,
    live_revisions: Collection[str] = (),
    cache: RecordingCache | None = None,
    unloadable: Mapping[Path, str] | None = None,
    question_seconds: float | None = None,
) -> dict[str, RevisionOperations]:
    """What each revision's ``upgrade()`` would do on ``dialect``, keyed by revision id.

    With ``live`` (the migration context env.py configured), ``upgrade()`` sees a context like
    alembic's offline one (``--sql``): its config, opts and dialect. For ``live_revisions``
    (those that will run on this database next) ``op.get_bind()`` answers read-only questions
    (an inspector, a SELECT) from the live database; a change sent through it is recorded, not
    run. With ``cache``, a self-contained revision whose file is unchanged is not recorded
    again. ``unloadable``: files known to fail (or hang, or exit) when imported, with why; they
    are read from their source instead of imported here. ``question_seconds``: how long a
    question ``upgrade()`` asks on a connection it opens itself may wait (the capture's own
    bound on its reads)."""
    results: dict[str, RevisionOperations] = {}
    to_record = []
    for script in scripts:
        fails_to_import = (unloadable or {}).get(script.path)
        if fails_to_import is not None:
            why = f"the file could not be imported ({fails_to_import})"
            results[script.revision] = read_operations_statically(script.path, script.revision, why)
            continue
        cached = cache.get(script) if cache is not None else None
        if cached is not None:
            results[script.revision] = cached
        else:
            to_record.append(script)
    wanted = set(live_revisions)
    for live_bind in (False, True):
        group = [script for script in to_record if (script.revision in wanted) == live_bind]
        if not group:
            continue
        recording = Recording(dialect, live)
        recording.live_bind = live_bind
        if question_seconds is not None:
            recording.question_seconds = question_seconds
        # one recording context for them all: building alembic's context per revision would
        # cost more than running the revisions
        with (
            recording_operations(recording),
            live_sql_refused(recording),
            revisions_not_logging(),
        ):
            for script in group:
                recorded = _record_upgrade(script, recording)
                if cache is not None:
                    recorded = cache.put(script, recorded)
                results[script.revision] = recorded
    if cache is not None:
        cache.save()
    return {script.revision: results[script.revision] for script in scripts}


def revisions_not_logging() -> AbstractContextManager[None]:
    """Silence what revisions log while they are recorded (not run): JupyterHub's warn
    "Skipping upgrade of absent table", which a check printed as if it had upgraded something.
    They say it when they run."""
    import logging

    return logging_held_back(logging.WARNING)


def record_upgrade(
    script: RevisionScript, dialect: Dialect, live: MigrationContext | None = None
) -> RevisionOperations:
    """What one revision's ``upgrade()`` would do (see ``record_upgrades``)."""
    return record_upgrades([script], dialect, live)[script.revision]


def _record_upgrade(script: RevisionScript, recording: Recording) -> RevisionOperations:
    try:
        module = load_module(script.path)
    except BaseException as error:  # a user's file may raise anything, even SystemExit
        if isinstance(error, KeyboardInterrupt):
            raise
        why = f"the file could not be imported ({describe_exception(error)})"
        return read_operations_statically(script.path, script.revision, why)
    upgrade = getattr(module, "upgrade", None)
    if not callable(upgrade):
        return RevisionOperations(
            script.revision, (), RECORDED, "the file has no upgrade()", migrate_operations=()
        )

    recording.script_path = str(script.path)
    try:
        recorded = _record(upgrade, recording)
    except CannotRecord as why:
        return read_operations_statically(script.path, script.revision, str(why))
    finally:
        recording.script_path = None
    uncertain: tuple[tuple[str | None, str], ...] = ()
    note = None
    unread: tuple[UnreadCall, ...] = ()
    facts = tuple(
        _placed(operation_fact(operation), line, autocommit, source_lines(script.path))
        for operation, line, autocommit in zip(
            recorded, recording.lines, recording.in_autocommit, strict=True
        )
    )
    if recording.consulted_database:
        # what it did here is recorded; the tables only its other branch names (what its
        # source names beyond that) are uncertain for the schema at this revision
        static = read_operations_statically(script.path, script.revision, "")
        done = {(op.schema, op.table) for op in facts if op.table}
        uncertain = tuple(
            dict.fromkeys(
                (op.schema, op.table)
                for op in static.operations
                if op.table and (op.schema, op.table) not in done
            )
        )
        note = "upgrade() asks the database what to do: what it does depends on the database"
        # what its other branches do to tables its source does not name is unknown: a call
        # the source does not tell the table of is known only where the recording reached it
        reached = {op.line for op in facts if op.line is not None}
        unread = tuple(call for call in static.unread if call.line not in reached)
    return RevisionOperations(
        script.revision,
        facts,
        RECORDED,
        note,
        migrate_operations=tuple(recorded),
        uncertain_tables=uncertain,
        unread=unread,
        consulted_database=recording.consulted_database,
        autocommit=recording.autocommit,
    )


def _import_for_recording(path: Path) -> Any:
    """The module of the file at ``path``; CannotRecord when importing it fails (Ctrl-C stays
    an interrupt)."""
    try:
        return load_module(path)
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            raise
        raise CannotRecord(
            f"the file could not be imported ({describe_exception(error)})"
        ) from None


def record_migrate_operations(
    path: Path, dialect: Dialect, live: MigrationContext | None = None
) -> list[MigrateOperation]:
    """The ``MigrateOperation`` objects the ``upgrade()`` of the file at ``path`` creates, in
    order, for a repair that runs some of them through a real ``Operations``; with ``live``,
    ``op.get_bind()`` answers questions from that database, as when the plan was made (an
    ``upgrade()`` that asks which tables exist, as JupyterHub's do, records nothing without
    it). Raises CannotRecord when the file cannot be imported or its ``upgrade()`` cannot be
    recorded."""
    module = _import_for_recording(path)
    upgrade = getattr(module, "upgrade", None)
    if not callable(upgrade):
        raise CannotRecord("the file has no upgrade()")
    recording = Recording(dialect, live)
    recording.live_bind = live is not None
    with recording_operations(recording), live_sql_refused(recording):
        return _record(upgrade, recording)


def record_downgrade(path: Path, dialect: Dialect) -> tuple[Operation, ...]:
    """What the ``downgrade()`` of the file at ``path`` would do on ``dialect``, recorded as an
    ``upgrade()`` is (nothing runs). Raises CannotRecord when it cannot be told."""
    module = _import_for_recording(path)
    downgrade = getattr(module, "downgrade", None)
    if not callable(downgrade):
        return ()
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.INFO)  # alembic's "Context impl" lines are noise here
    try:
        recording = Recording(dialect, None)
        recording.script_path = str(path)  # where each operation is called: its line
        with recording_operations(recording), live_sql_refused(recording):
            recorded = _record(downgrade, recording, "downgrade()")
    finally:
        logging.disable(previous)
    lines = source_lines(path)
    return tuple(
        _placed(operation_fact(operation), line, autocommit, lines)
        for operation, line, autocommit in zip(
            recorded, recording.lines, recording.in_autocommit, strict=True
        )
    )


def _record(function: Any, recording: Recording, name: str = "upgrade()") -> list[MigrateOperation]:
    recorded: list[MigrateOperation] = []
    recording.recorded = recorded
    recording.lines, recording.in_autocommit = [], []
    recording.consulted_database = recording.autocommit = False
    connection = (
        recording.live.connection if recording.live is not None and recording.live_bind else None
    )
    # a question upgrade() asks may fail (a table not there yet): on PostgreSQL that would
    # spoil env.py's transaction for every read after it, so each recording has a savepoint
    savepoint = (
        connection.begin_nested()
        if connection is not None and connection.in_transaction()
        else None
    )
    try:
        function()
    except BaseException as error:  # a user's function may raise anything, even SystemExit
        if savepoint is not None and savepoint.is_active:
            savepoint.rollback()
        if isinstance(error, KeyboardInterrupt):
            raise
        if isinstance(error, LiveSQLRefused):
            why = f"{name} runs SQL through its own connection, which migdoctor does not run"
            raise CannotRecord(f"{why} ({error})") from None
        raise CannotRecord(f"{name} could not be recorded ({describe_exception(error)})") from None
    if savepoint is not None and savepoint.is_active:
        savepoint.commit()
    return recorded


def _placed(
    operation: Operation, line: int | None, autocommit: bool, lines: tuple[str, ...]
) -> Operation:
    """The operation with where the file calls it, whether inside autocommit_block(), and the
    codes an ignore comment on that line silences."""
    ignored = ignored_codes(lines[line - 1]) if line is not None and 0 < line <= len(lines) else ()
    return replace(operation, line=line, autocommit=autocommit, ignored=ignored)


def operation_fact(operation: Any) -> Operation:
    """alembic's ``MigrateOperation`` as migdoctor's plain ``Operation``."""
    from alembic.operations import ops
    from sqlalchemy import Column

    schema = getattr(operation, "schema", None)
    if isinstance(operation, ops.CreateTableOp):
        columns = tuple(c.name for c in operation.columns if isinstance(c, Column))
        return Operation("create_table", operation.table_name, schema, columns)
    if isinstance(operation, ops.DropTableOp):
        return Operation("drop_table", operation.table_name, schema)
    if isinstance(operation, ops.RenameTableOp):
        return Operation(
            "rename_table", operation.table_name, schema, name=operation.new_table_name
        )
    if isinstance(operation, ops.AddColumnOp):
        column = operation.column
        return Operation(
            "add_column",
            operation.table_name,
            schema,
            (column.name,),
            nullable=bool(column.nullable),
            server_default=column.server_default is not None,
            default_sql=_default_sql(column.server_default),
        )
    if isinstance(operation, ops.DropColumnOp):
        return Operation("drop_column", operation.table_name, schema, (operation.column_name,))
    if isinstance(operation, ops.AlterColumnOp):
        return Operation(
            "alter_column",
            operation.table_name,
            schema,
            (operation.column_name,),
            name=operation.modify_name,
            nullable=operation.modify_nullable,
            server_default=operation.modify_server_default not in (False, None),
            new_type=_type_text(operation.modify_type),
            new_type_postgresql=_postgresql_type(operation.modify_type),
            using=bool(operation.kw.get("postgresql_using")),
            new_type_enum=_native_enum(operation.modify_type),
        )
    if isinstance(operation, ops.CreateIndexOp):
        columns = tuple(_expression_name(c) for c in operation.columns)
        return Operation(
            "create_index",
            operation.table_name,
            schema,
            columns,
            _name(operation.index_name),
            unique=bool(operation.unique),
            concurrently=bool(operation.kw.get("postgresql_concurrently")),
        )
    if isinstance(operation, ops.DropIndexOp):
        return Operation(
            "drop_index",
            operation.table_name,
            schema,
            name=_name(operation.index_name),
            concurrently=bool(operation.kw.get("postgresql_concurrently")),
        )
    if isinstance(operation, ops.DropConstraintOp):
        return Operation(
            "drop_constraint",
            operation.table_name,
            schema,
            name=_name(operation.constraint_name),
            constraint_type=operation.constraint_type,
        )
    if isinstance(operation, ops.AddConstraintOp):
        kind = {
            "CreateForeignKeyOp": "create_foreign_key",
            "CreatePrimaryKeyOp": "create_primary_key",
            "CreateUniqueConstraintOp": "create_unique_constraint",
            "CreateCheckConstraintOp": "create_check_constraint",
        }.get(type(operation).__name__, "add_constraint")
        table = getattr(operation, "table_name", None) or getattr(operation, "source_table", None)
        columns = tuple(
            str(c)
            for c in (
                getattr(operation, "columns", None) or getattr(operation, "local_cols", None) or ()
            )
        )
        return Operation(
            kind,
            table,
            schema,
            columns,
            _name(getattr(operation, "constraint_name", None)),
            unique=kind == "create_unique_constraint",
            not_valid=bool(getattr(operation, "kw", {}).get("postgresql_not_valid")),
            condition=_condition(getattr(operation, "condition", None)),
            referred_table=getattr(operation, "referent_table", None),
            referred_schema=getattr(operation, "kw", {}).get("referent_schema"),
            referred_columns=tuple(str(c) for c in getattr(operation, "remote_cols", None) or ()),
        )
    if isinstance(operation, ops.ExecuteSQLOp):
        return Operation("execute", detail=_sql_text(operation.sqltext))
    if isinstance(operation, ops.BulkInsertOp):
        return Operation("bulk_insert", getattr(operation.table, "name", None), schema)
    table = getattr(operation, "table_name", None)
    name = type(operation).__name__.removesuffix("Op")
    return Operation(_snake(name), table, schema)


def _type_text(type_: Any) -> str | None:
    """A type as SQLAlchemy's default dialect writes it (``VARCHAR(100)``), as reflected
    columns are written (``database/schema.py``)."""
    if type_ is None:
        return None
    try:
        return str(type_() if isinstance(type_, type) else type_)
    except Exception:  # noqa: BLE001 - a type only its dialect compiles
        return type(type_).__name__.upper()


def _default_sql(default: Any) -> str | None:
    if default is None:
        return None
    argument = getattr(default, "arg", default)
    return str(getattr(argument, "text", argument))


def _postgresql_type(type_: Any) -> str | None:
    """A type as PostgreSQL's dialect writes it in DDL (None when it writes none)."""
    if type_ is None:
        return None
    from sqlalchemy.dialects import postgresql

    try:
        instance = type_() if isinstance(type_, type) else type_
        return str(instance.compile(postgresql.dialect()))  # type: ignore[no-untyped-call]
    except Exception:  # noqa: BLE001 - a type PostgreSQL cannot write
        return None


def _native_enum(type_: Any) -> bool:
    """Whether ``type_`` is an enumeration PostgreSQL makes a type of its own for (sa.Enum with
    native_enum, postgresql.ENUM)."""
    from sqlalchemy import Enum

    instance = type_() if isinstance(type_, type) else type_
    return isinstance(instance, Enum) and bool(getattr(instance, "native_enum", True))


def _condition(condition: Any) -> str | None:
    """A CHECK constraint's condition as SQL text (SQLAlchemy's default dialect writes an
    expression)."""
    if condition is None:
        return None
    try:
        text = str(getattr(condition, "text", condition))
    except Exception:  # noqa: BLE001 - an expression only its dialect compiles
        return None
    return " ".join(text.split())


def _name(name: Any) -> str | None:
    return None if name is None else str(name)


def _expression_name(expression: Any) -> str:
    return (
        expression if isinstance(expression, str) else str(getattr(expression, "name", expression))
    )


def _sql_text(sqltext: Any) -> str:
    text = sqltext if isinstance(sqltext, str) else str(getattr(sqltext, "text", sqltext))
    text = " ".join(text.split())
    return text if len(text) <= 120 else text[:117] + "..."


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
