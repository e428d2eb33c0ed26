"""Learn the database's facts by running the project's own env.py, as ``alembic current`` does.

An ``EnvironmentContext`` with a capturing ``fn`` and ``dont_mutate=True`` runs env.py, so the
URL, the version table's name and schema, ``target_metadata`` and the connection options are the
user's real ones. Inside ``fn`` the connection env.py opened is read: the version rows with a
plain SELECT (an unknown id is a fact, not a crash), the tables and columns, and what pending
revisions would do. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migdoctor.database.environment import run_environment
from migdoctor.facts import (
    ALL_TABLES,
    CASE_INSENSITIVE_TABLE_NAMES,
    OPERATION_TABLES,
    DatabaseFacts,
    ProjectFacts,
    TargetMetadataFacts,
)
from migdoctor.operations.model import RevisionOperations
from migdoctor.operations.recorder import record_upgrades
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


def capture_database(
    project: ProjectFacts, record: str = RECORD_PENDING, tables: str = ALL_TABLES
) -> Capture:
    """Run env.py once and return what it connected to; raise CannotCheck in one line if not.
    ``tables``: which live tables to reflect (``facts.ALL_TABLES`` or ``OPERATION_TABLES``)."""
    captured: list[Capture] = []

    def capture(context: MigrationContext, script: Any) -> list[Any]:
        captured.append(_read_database(context, project, record, tables))
        return []

    run_environment(project, capture, read_only=True, action="Reading the database")
    return captured[0]


def _read_database(
    context: MigrationContext, project: ProjectFacts, record: str, tables_read: str
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
    if record == RECORD_NONE:
        to_record = []
    elif record == RECORD_ALL or any(row not in graph for row in rows):
        to_record = [graph.scripts[r] for r in graph.scripts]
    else:
        to_record = [graph.scripts[r] for r in graph.pending(rows)]
    operations = record_upgrades(to_record, dialect)

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
    tables = read_tables(inspector, schemas, exclude=(version_schema, version_table), only=wanted)
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
        target_metadata=_target_metadata(context.opts.get("target_metadata")),
        tables_read=tables_read,
    )
    return Capture(facts, operations)


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


@dataclass(frozen=True)
class VersionState:
    """The version table as ``alembic current`` reads it: the URL (password hidden) and rows."""

    url: str
    rows: tuple[str, ...]


def read_version_state(project: ProjectFacts) -> VersionState:
    """Run env.py and read only the version table: no reflection, no recording."""
    states: list[VersionState] = []

    def read(context: MigrationContext, script: Any) -> list[Any]:
        from sqlalchemy import inspect

        connection = context.connection
        assert connection is not None  # run_environment refuses offline mode
        remember_url_password(connection.engine.url)
        table, schema = context.version_table, context.version_table_schema
        exists = inspect(connection).has_table(table, schema=schema)
        rows = read_version_rows(connection, table, schema) if exists else ()
        states.append(
            VersionState(connection.engine.url.render_as_string(hide_password=True), rows)
        )
        return []

    run_environment(project, read, read_only=True, action="Reading the version table")
    return states[0]


def read_version_rows(
    connection: Connection, version_table: str, schema: str | None
) -> tuple[str, ...]:
    """The raw ids in the version table, whatever they are."""
    from sqlalchemy import column, select, table

    version = table(version_table, column("version_num"), schema=schema)
    result = connection.execute(select(version.c.version_num))
    return tuple(str(row[0]) for row in result)


def _server_version(dialect: Any) -> str:
    info = getattr(dialect, "server_version_info", None) or ()
    version = ".".join(str(part) for part in info)
    if getattr(dialect, "is_mariadb", False):
        return f"MariaDB {version}"
    return version


def _target_metadata(metadata: Any) -> TargetMetadataFacts | None:
    if metadata is None:
        return None
    collections = metadata if isinstance(metadata, (list, tuple)) else [metadata]
    names = sorted(
        table.fullname
        for collection in collections
        for table in getattr(collection, "sorted_tables", ())
    )
    return TargetMetadataFacts(tables=tuple(names), described_as=type(metadata).__name__)
