"""Learn the database's facts by running the project's own env.py, as ``alembic current`` does.

An ``EnvironmentContext`` with a capturing ``fn`` and ``dont_mutate=True`` runs env.py, so the
URL, the version table's name and schema, ``target_metadata`` and the connection options are the
user's real ones. Inside ``fn`` the connection env.py opened is read: the version rows with a
plain SELECT (an unknown id is a fact, not a crash), the tables and columns, and what pending
revisions would do. Nothing is written.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migdoctor.database.bounds import bounded_session, read_timeout
from migdoctor.database.drift import read_schema_drift
from migdoctor.database.drift_cache import comparison_cache
from migdoctor.database.environment import run_environment
from migdoctor.database.foreign_keys import kept_foreign_keys
from migdoctor.database.invalid_indexes import read_invalid_indexes
from migdoctor.database.ledger import ledger_hidden, own_tables, read_ledger
from migdoctor.database.schema_history import read_schema_history
from migdoctor.database.version_table import read_version_rows
from migdoctor.facts.model import (
    ALL_TABLES,
    CASE_INSENSITIVE_TABLE_NAMES,
    OPERATION_TABLES,
    DatabaseFacts,
    ProjectFacts,
    TargetMetadataFacts,
    UncheckedRun,
)
from migdoctor.facts.operations import RevisionOperations
from migdoctor.facts.server_version import ServerVersion, server_from_info
from migdoctor.facts.sessions import RunInProgress, SessionInfo
from migdoctor.findings import Location
from migdoctor.operations.recorder import record_upgrades
from migdoctor.operations.recording_cache import recording_cache
from migdoctor.operations.recording_context import naming_convention_key
from migdoctor.project.loading import LoadCheck, check_loading
from migdoctor.redact import remember_url_password

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.engine import Connection

RECORD_PENDING = "pending"
RECORD_ALL = "all"
RECORD_NONE = "none"


@dataclass
class Capture:
    """What one run of env.py told: facts about the database and about pending revisions."""

    database: DatabaseFacts
    operations: dict[str, RevisionOperations] = field(default_factory=dict)
    # the version files imported as alembic imports them, once env.py had run
    loading: LoadCheck | None = None


def capture_database(
    project: ProjectFacts,
    record: str = RECORD_ALL,
    tables: str = ALL_TABLES,
    compare_revisions: tuple[str, ...] = (),
) -> Capture:
    """Run env.py once and return what it connected to; raise MigdoctorError in one line if not.
    ``tables``: which live tables to reflect (``facts.ALL_TABLES`` or ``OPERATION_TABLES``).
    With ``record`` RECORD_ALL every revision is recorded and the schema at every revision
    measured against the live one; ``compare_revisions`` get alembic's full comparison too."""
    captured: list[Capture] = []
    configure_calls: list[Location] = []

    unchecked: list[UncheckedRun] = []
    first_where: list[str] = []

    def capture(context: MigrationContext, script: Any) -> list[Any]:
        if captured:
            # env.py migrates several schemas or databases in one run (Netflix/dispatch loops
            # over its tenants' schemas): the first is checked, the others are named
            unchecked.append(_unchecked_run(context))
            return []
        configured_at = configure_calls[-1] if configure_calls else None
        # the ledger is migdoctor's: no comparison with the models or the history sees it
        assert context.connection is not None  # run_environment refuses offline mode
        first_where.append(_where(context.connection))
        with ledger_hidden(context, project.config.ledger):
            captured.append(
                _read_database(context, project, record, configured_at, tables, compare_revisions)
            )
        return []

    def note_configure_calls(environment: Any, env_py: Path) -> None:
        _note_configure_calls(environment, env_py, project, configure_calls)

    run_environment(
        project,
        capture,
        read_only=True,
        action="Reading the database",
        prepare=note_configure_calls,
        read_timeout=read_timeout(project.config.options),
    )
    first = captured[0]
    if not unchecked:
        return first
    return replace(
        first,
        database=replace(
            first.database,
            where=first_where[0] if first_where else "",
            unchecked_runs=tuple(unchecked),
        ),
    )


def _where(connection: Connection) -> str:
    """The schema unqualified names mean on this connection (when env.py set PostgreSQL's
    search_path) or else its database, with the server: what tells two runs of env.py apart."""
    url = connection.engine.url
    server = f"{url.host}:{url.port}" if url.host else ""
    schema = (
        connection.dialect.default_schema_name if connection.dialect.name == "postgresql" else None
    )
    database = url.database or ""
    place = f"{database}.{schema}" if schema else database
    return f"{place} on {server}" if server else place


def _unchecked_run(context: MigrationContext) -> UncheckedRun:
    from sqlalchemy import inspect

    connection = context.connection
    assert connection is not None  # run_environment refuses offline mode
    table, schema = context.version_table, context.version_table_schema
    exists = inspect(connection).has_table(table, schema=schema)
    rows = read_version_rows(connection, table, schema) if exists else ()
    return UncheckedRun(_where(connection), rows, exists)


def _read_database(
    context: MigrationContext,
    project: ProjectFacts,
    record: str,
    configured_at: Location | None,
    tables_read: str = ALL_TABLES,
    compare_revisions: tuple[str, ...] = (),
) -> Capture:
    from sqlalchemy import inspect

    connection: Connection | None = context.connection
    assert connection is not None  # run_environment refuses offline mode
    url = connection.engine.url
    remember_url_password(url)
    dialect = connection.dialect
    inspector = inspect(connection)
    version_table = context.version_table
    version_schema = context.version_table_schema
    exists = inspector.has_table(version_table, schema=version_schema)
    rows = read_version_rows(connection, version_table, version_schema) if exists else ()

    graph = project.graph
    known = not any(row not in graph for row in rows)
    pending = graph.pending(rows) if known else []
    if record == RECORD_NONE:
        to_record = []
    elif record == RECORD_ALL or not known:
        to_record = [graph.scripts[r] for r in graph.scripts]
    else:
        to_record = [graph.scripts[r] for r in pending]
    in_progress = _run_in_progress(connection, version_table, version_schema, [*pending, *rows])
    if in_progress is not None:
        # another run is changing the schema: reading it would wait behind that run's locks
        # and show its half-done work (migration-in-progress says so instead)
        tables_read = OPERATION_TABLES
        to_record = []
    # every version file is imported in a child first (alembic loads them all): a file that
    # fails, hangs or exits there is read statically instead of imported here
    loading = check_loading(
        project.scripts,
        project.config.base_directory,
        sys.path,
        shown_from=Path.cwd(),
        signatures=project.file_signatures,
    )
    unloadable = {error.path: error.message for error in loading.errors}
    operations = record_upgrades(
        to_record,
        dialect,
        live=context,
        live_revisions=pending if known else list(graph.scripts),
        cache=recording_cache(
            project.config.base_directory, dialect.name, naming_convention_key(context)
        ),
        unloadable=unloadable,
        question_seconds=read_timeout(project.config.options),
    )

    from migdoctor.database.schema import read_tables

    default_schema = inspector.default_schema_name
    schemas = {None, version_schema} | {
        op.schema for recorded in operations.values() for op in recorded.operations
    }
    schemas = {None if s == default_schema else s for s in schemas}
    wanted = None
    if tables_read == OPERATION_TABLES:
        wanted = _tables_named(
            operations.values(), default_schema, dialect.name in CASE_INSENSITIVE_TABLE_NAMES
        )
    # alembic's answers, reused while nothing a comparison reads has changed
    comparisons = comparison_cache(project.config.base_directory, url.render_as_string(True))
    tables, table_names = read_tables(
        inspector,
        schemas,
        exclude=own_tables(context, project.config.ledger),
        only=wanted,
        kept=comparisons,
    )
    touched = {
        (None if op.schema == default_schema else op.schema, op.table)
        for revision in pending
        if revision in operations
        for op in operations[revision].operations
        if op.table
    }
    blocking, sessions_unreadable = _blocking_sessions(connection, touched)
    facts = DatabaseFacts(
        url=url.render_as_string(hide_password=True),
        dialect=dialect.name,
        driver=dialect.driver,
        server_version=_server_version(dialect),
        default_schema=default_schema,
        version_table=version_table,
        version_table_schema=None if version_schema == default_schema else version_schema,
        version_table_exists=exists,
        version_rows=rows,
        tables=tables,
        table_names=table_names,
        target_metadata=target_metadata_facts(context.opts.get("target_metadata"), configured_at),
        blocking_sessions=blocking,
        sessions_unreadable=sessions_unreadable,
        schema_drift=None
        if record == RECORD_NONE or in_progress is not None
        else read_schema_drift(
            context,
            graph,
            rows,
            inspector,
            comparisons,
        ),
        tables_read=tables_read,
        schema_history=(
            read_schema_history(
                context,
                inspector,
                graph,
                operations,
                rows,
                tables,
                table_names,
                compare_revisions,
                comparisons,
            )
            if record == RECORD_ALL and in_progress is None
            else None
        ),
        transactional_ddl=bool(context.impl.transactional_ddl),
        run_in_progress=in_progress,
        ledger=None
        if record == RECORD_NONE
        else read_ledger(connection, project, version_schema, rows),
        invalid_indexes=None if record == RECORD_NONE else read_invalid_indexes(connection),
        foreign_keys=None
        if record == RECORD_NONE or in_progress is not None
        else kept_foreign_keys(connection, inspector, schemas, comparisons),
    )
    if comparisons is not None:
        comparisons.save()
    if pending and in_progress is None:
        from migdoctor.database.operation_measures import measure_operation_tables

        measures = measure_operation_tables(
            connection,
            [operations[revision] for revision in pending if revision in operations],
            facts.table,
            facts.case_insensitive_names,
            locked=[table for session in blocking for table in session.tables],
        )
        facts = replace(facts, table_measures=measures)
    return Capture(facts, operations, loading)


def _tables_named(
    operations: Iterable[RevisionOperations], default_schema: str | None, case_insensitive: bool
) -> Callable[[str | None, str], bool]:
    """Whether a live table (schema, name) is one the operations name, matched the way
    ``DatabaseFacts.table`` matches names on this database."""
    named: set[tuple[str | None, str]] = set()
    for recorded in operations:
        for operation in recorded.operations:
            schema = None if operation.schema == default_schema else operation.schema
            for name in (
                operation.table,
                operation.name if operation.kind == "rename_table" else None,
            ):
                if name is not None:
                    named.add((schema, name.lower() if case_insensitive else name))

    def wanted(schema: str | None, name: str) -> bool:
        if (schema, name) in named:
            return True
        return case_insensitive and (schema, name.lower()) in named

    return wanted


def _blocking_sessions(
    connection: Connection, touched: set[tuple[str | None, str]]
) -> tuple[tuple[SessionInfo, ...], str | None]:
    """Other sessions holding locks on ``touched`` tables, read on a session of its own (so a
    refused query cannot spoil env.py's transaction), or why they could not be read."""
    from sqlalchemy.exc import DBAPIError

    from migdoctor.database.sessions import own_session_id, sessions_on_tables, sqlite_write_lock

    if not touched or connection.dialect.name not in ("mysql", "mariadb", "postgresql", "sqlite"):
        return (), None
    try:
        if connection.dialect.name == "sqlite":
            return sqlite_write_lock(connection), None
        own = own_session_id(connection)
        if connection.dialect.name == "postgresql":
            # the other session has not the search_path env.py may have set (Netflix/dispatch):
            # unqualified names are env.py's connection's first schema there too
            touched = touched | {
                (connection.dialect.default_schema_name, name)
                for schema, name in touched
                if schema is None
            }
        with bounded_session(connection) as other:
            return sessions_on_tables(other, touched, exclude=[own] if own else []), None
    except DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        return (), f"other sessions could not be read ({reason})"


def _run_in_progress(
    connection: Connection, version_table: str, schema: str | None, revisions: list[str]
) -> RunInProgress | None:
    """Another run holding the migration lock, read on a session of its own (lock views only:
    it waits on nothing)."""
    from sqlalchemy.exc import DBAPIError

    from migdoctor.database.run_in_progress import run_in_progress

    if connection.dialect.name == "sqlite":
        return run_in_progress(connection, version_table, schema, revisions)
    try:
        with connection.engine.connect() as other:
            return run_in_progress(other, version_table, schema, revisions)
    except DBAPIError:  # lock views refused (a privilege): nothing can be said
        return None


def _server_version(dialect: Any) -> ServerVersion:
    info = tuple(getattr(dialect, "server_version_info", None) or ())
    return server_from_info(dialect.name, info, bool(getattr(dialect, "is_mariadb", False)))


def target_metadata_facts(metadata: Any, configured_at: Location | None) -> TargetMetadataFacts:
    if metadata is None:
        return TargetMetadataFacts(
            tables=(), described_as="None", is_none=True, configured_at=configured_at
        )
    collections = metadata if isinstance(metadata, (list, tuple)) else [metadata]
    names = sorted(
        table.fullname
        for collection in collections
        for table in getattr(collection, "tables", {}).values()
    )
    if isinstance(metadata, (list, tuple)):
        kinds = sorted({type(collection).__name__ for collection in collections})
        described_as = f"{type(metadata).__name__} of {len(collections)} {'/'.join(kinds)}"
    else:
        described_as = type(metadata).__name__
    return TargetMetadataFacts(
        tables=tuple(names), described_as=described_as, configured_at=configured_at
    )


def _note_configure_calls(
    environment: Any, env_py: Path, project: ProjectFacts, calls: list[Location]
) -> None:
    """Remember where env.py calls ``context.configure``, so a finding about what it passed
    can name the line."""
    original_configure = environment.configure
    shown_as = project.relative(env_py)
    real_env_py = env_py.resolve()

    def configure(*args: Any, **kw: Any) -> None:
        lines = [
            frame.lineno
            for frame in traceback.extract_stack()
            if frame.filename and Path(frame.filename).resolve() == real_env_py
        ]
        if lines:
            calls.append(Location(shown_as, lines[-1]))
        original_configure(*args, **kw)

    environment.configure = configure
