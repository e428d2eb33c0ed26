"""migdoctor's ledger: a table in the user's database recording each revision migdoctor
upgrades, downgrades or stamps (the revision, the sha256 and the compressed text of its file,
when, the database user, how long, and the migdoctor and alembic versions), as Flyway and
Liquibase keep checksums of applied migrations. ``edited-after-apply`` compares the files with it;
``migdoctor log`` lists it.

The ledger is never required: it is created lazily (SQLAlchemy Core, portable types) on the
run's own connection, inside the run's transaction where the database has transactional DDL; a
user who may not create or write it gets one warning line and the run goes on. On PostgreSQL
each ledger statement runs in a savepoint, so that its failure cannot abort the migration's
transaction. Every check ignores the table (``own_tables``, the one list of migdoctor's tables
in the user's database, with the version table).
"""

from __future__ import annotations

import difflib
import hashlib
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migdoctor.database.current_schema import current_schema
from migdoctor.errors import describe_exception, driver_error
from migdoctor.facts.ledger import (
    APPLYING,
    STAMP,
    UNSTAMP,
    FileSinceApply,
    LedgerEntry,
    LedgerFacts,
)
from migdoctor.project.settings import LedgerSettings

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import Table
    from sqlalchemy.engine import Connection

    from migdoctor.facts.model import ProjectFacts
    from migdoctor.project.graph import RevisionGraph

# the newest entries a check or ``log`` reads (a bounded read, as every other)
ENTRIES_READ = 5000
# a file's text is kept (compressed) up to this size: enough for a real diff of any migration
KEPT_TEXT_BYTES = 1 << 20


def ledger_table(name: str, schema: str | None) -> Table:
    from sqlalchemy import (
        Column,
        DateTime,
        Float,
        Integer,
        LargeBinary,
        MetaData,
        String,
        Table,
    )

    return Table(
        name,
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("revision", String(255), nullable=False, index=True),
        Column("direction", String(16), nullable=False),
        Column("file_sha256", String(64)),
        Column("file_path", String(1024)),
        # zlib-compressed text of the file (MEDIUMBLOB on MySQL)
        Column("file_zlib", LargeBinary(length=16_777_215)),
        Column("applied_at", DateTime, nullable=False),
        Column("database_user", String(255)),
        Column("duration_seconds", Float),
        Column("migdoctor_version", String(64), nullable=False),
        Column("alembic_version", String(64), nullable=False),
        Column("command", String(64), nullable=False),
        schema=schema,
    )


def own_tables(
    context: MigrationContext, ledger: LedgerSettings
) -> tuple[tuple[str | None, str], ...]:
    """migdoctor's and alembic's own tables in the user's database, as (schema, name): the
    version table and the ledger (in the version table's schema), which no check reports."""
    schemas = [context.version_table_schema]
    if context.version_table_schema is None and context.connection is not None:
        # an env.py that sets the search_path (Netflix/dispatch: one schema per tenant) has
        # alembic make the version table in that schema, which reflection names by its name
        schemas.append(current_schema(context.connection))
    return tuple(
        (schema, table) for schema in schemas for table in (context.version_table, ledger.table)
    )


@contextmanager
def ledger_hidden(context: MigrationContext, ledger: LedgerSettings) -> Iterator[None]:
    """Hide the ledger from alembic's autogenerate comparisons (as alembic hides its version
    table) by adding to env.py's ``include_name`` for the duration."""
    original = context.opts.get("include_name")
    context.opts["include_name"] = _without_ledger(original, ledger, context.version_table_schema)
    try:
        yield
    finally:
        if original is None:
            context.opts.pop("include_name", None)
        else:
            context.opts["include_name"] = original


@contextmanager
def ledger_hidden_from_env_py(ledger: LedgerSettings) -> Iterator[None]:
    """:func:`ledger_hidden` for alembic's own commands, which run env.py themselves (``alembic
    revision --autogenerate``, ``alembic check`` through migdoctor): every ``configure()`` of
    the duration gets an ``include_name`` without the ledger, so that no revision generated
    through migdoctor drops migdoctor's own table."""
    from alembic.runtime.environment import EnvironmentContext

    original_configure = EnvironmentContext.configure

    def configure(self: EnvironmentContext, *args: Any, **kw: Any) -> None:
        kw["include_name"] = _without_ledger(
            kw.get("include_name"), ledger, kw.get("version_table_schema")
        )
        original_configure(self, *args, **kw)

    EnvironmentContext.configure = configure  # type: ignore[method-assign]
    try:
        yield
    finally:
        EnvironmentContext.configure = original_configure  # type: ignore[method-assign]


def _without_ledger(
    original: Callable[..., Any] | None, ledger: LedgerSettings, schema: str | None
) -> Callable[[str | None, str, dict[str, Any]], bool]:
    """env.py's ``include_name`` (or none), leaving out the ledger table of ``schema``."""

    def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
        in_its_schema = parent_names.get("schema_name") in (schema, None)
        if type_ == "table" and name == ledger.table and in_its_schema:
            return False
        return bool(original(name, type_, parent_names)) if original is not None else True

    return include_name


# -- writing ----------------------------------------------------------------------------------


class LedgerWriter:
    """Records the revisions of one run on the run's connection; ``warn`` hears (once) why the
    ledger could not be written, and the run goes on."""

    def __init__(self, project: ProjectFacts, command: str, warn: Callable[[str], None]) -> None:
        self.settings = project.config.ledger
        self.graph = project.graph
        self.paths = {revision: script.path for revision, script in project.graph.scripts.items()}
        self.base = project.config.base_directory
        self.command = command
        self.warn = warn
        self.enabled = self.settings.enabled
        self.table: Table | None = None
        self.user: str | None = None
        self.schema: str | None = None

    def prepare(self, connection: Connection, schema: str | None) -> None:
        """Where the table goes; it is created with the first revision recorded, so a run that
        applies nothing (it fails first, say) leaves the database without it."""
        self.schema = schema

    def _create(self, connection: Connection, schema: str | None) -> None:
        """Create the table when it does not exist yet."""
        if not self.enabled or self.table is not None:
            return
        from sqlalchemy import inspect

        table = ledger_table(self.settings.table, schema)

        def create() -> None:
            if not inspect(connection).has_table(table.name, schema=schema):
                table.create(connection)

        if self._attempt(connection, create, f"create {self._name(schema)}"):
            self.table = table
            self.user = _database_user(connection)

    def record_stamp(
        self, connection: Connection, before: Iterable[str], after: Iterable[str]
    ) -> None:
        """A stamp from the rows ``before`` to ``after``: every revision it records as applied
        (the stamped ones and those they skip) as ``stamp``, every one it takes back (a stamp
        down) as ``unstamp``; nothing of them ran."""
        applied, taken_back = stamp_moves(self.graph, before, after)
        if applied:
            self.record(connection, applied, STAMP, 0.0)
        if taken_back:
            self.record(connection, taken_back, UNSTAMP, 0.0)

    def record(
        self, connection: Connection, revisions: Iterable[str], direction: str, seconds: float
    ) -> None:
        if self.enabled and self.table is None:
            self._create(connection, self.schema)
        if not self.enabled or self.table is None:
            return
        from alembic import __version__ as alembic_version

        from migdoctor import __version__

        table = self.table
        rows = []
        for revision in revisions:
            path = self.paths.get(revision)
            content = _read(path)
            rows.append(
                {
                    "revision": revision,
                    "direction": direction,
                    "file_sha256": hashlib.sha256(content).hexdigest() if content else None,
                    "file_path": _relative(path, self.base) if path else None,
                    "file_zlib": _kept(content),
                    "applied_at": datetime.now(timezone.utc).replace(tzinfo=None),
                    "database_user": self.user,
                    "duration_seconds": round(seconds, 3),
                    "migdoctor_version": __version__,
                    "alembic_version": alembic_version,
                    "command": self.command,
                }
            )
        if rows:
            self._attempt(
                connection,
                lambda: connection.execute(table.insert(), rows),
                f"write to {self._name(table.schema)}",
            )

    def _name(self, schema: str | None) -> str:
        return f"{schema}.{self.settings.table}" if schema else self.settings.table

    def _attempt(self, connection: Connection, action: Callable[[], Any], what: str) -> bool:
        try:
            with _savepoint(connection):
                action()
        except Exception as error:  # noqa: BLE001 - the ledger is never required
            self.enabled = False
            self.warn(
                f"migdoctor could not {what} ({describe_exception(driver_error(error))}); the "
                "run goes on without the ledger (--no-ledger or ledger = false silences this)."
            )
            return False
        return True


def rows_change_recorder(
    project: ProjectFacts,
    command: str,
    warn: Callable[[str], None],
    change: Any,
    direction: str,
) -> Callable[[Connection, str | None], None]:
    """What writes to the ledger the revisions a change of the version table's rows (a stamp
    fix, a completed revision) records as applied, or, for ``downgrade``, takes away."""
    writer = LedgerWriter(project, command, warn)
    if direction == "downgrade":
        revisions = [r for r in change.rows_before if r not in change.rows_after]
    else:
        revisions = [r for r in change.rows_after if r not in change.rows_before]

    def record(connection: Connection, schema: str | None) -> None:
        if direction == STAMP:
            writer.prepare(connection, schema)
            writer.record_stamp(connection, change.rows_before, change.rows_after)
        elif revisions:
            writer.prepare(connection, schema)
            writer.record(connection, revisions, direction, 0.0)

    return record


def stamp_moves(
    graph: RevisionGraph, before: Iterable[str], after: Iterable[str]
) -> tuple[list[str], list[str]]:
    """What a stamp from the rows ``before`` to ``after`` records as applied (the revisions up
    to ``after`` that were not up to ``before``) and takes back (the reverse), oldest first;
    revisions no script defines count as themselves."""
    up_to_before = _up_to(graph, before)
    up_to_after = _up_to(graph, after)
    order = {revision: index for index, revision in enumerate(reversed(graph.history()))}

    def oldest_first(revisions: set[str]) -> list[str]:
        return sorted(revisions, key=lambda r: (order.get(r, len(order)), r))

    return oldest_first(up_to_after - up_to_before), oldest_first(up_to_before - up_to_after)


def _up_to(graph: RevisionGraph, rows: Iterable[str]) -> set[str]:
    rows = set(rows)
    known = [row for row in rows if row in graph]
    return graph.ancestors(known) | (rows - set(known))


@contextmanager
def _savepoint(connection: Connection) -> Iterator[None]:
    """On PostgreSQL a failed statement aborts the whole transaction: run in a savepoint."""
    if connection.dialect.name == "postgresql" and connection.in_transaction():
        with connection.begin_nested():
            yield
    else:
        yield


def _database_user(connection: Connection) -> str | None:
    from sqlalchemy import text

    statement = {
        "postgresql": "SELECT current_user",
        "mysql": "SELECT CURRENT_USER()",
        "mariadb": "SELECT CURRENT_USER()",
    }.get(connection.dialect.name)
    if statement is None:
        return connection.engine.url.username
    try:
        with _savepoint(connection):
            value = connection.execute(text(statement)).scalar()
    except Exception:  # noqa: BLE001 - who ran it is worth knowing, not worth failing for
        return connection.engine.url.username
    return str(value) if value is not None else None


def _relative(path: Path, base: Path) -> str:
    try:
        return path.absolute().relative_to(base).as_posix()
    except ValueError:
        return str(path)


def _read(path: Path | None) -> bytes | None:
    try:
        return path.read_bytes() if path is not None else None
    except OSError:
        return None


def _kept(content: bytes | None) -> bytes | None:
    if content is None or len(content) > KEPT_TEXT_BYTES:
        return None
    return zlib.compress(content, 6)


# -- reading ----------------------------------------------------------------------------------


def read_ledger(
    connection: Connection,
    project: ProjectFacts,
    schema: str | None,
    known_rows: Iterable[str],
) -> LedgerFacts | None:
    """The ledger's newest entries and the applied revision files edited since (None when
    there is no ledger table). The caller bounds the reads. ``known_rows``: the version rows
    whose ancestors count as applied."""
    from sqlalchemy import inspect, select

    settings = project.config.ledger
    table = ledger_table(settings.table, schema)
    columns = [column for column in table.c if column.name != "file_zlib"]
    try:
        # MySQL answers "SELECT command denied" even to whether the table exists, to a user
        # without rights on it: the ledger is then unreadable, never a failure of the check
        if not inspect(connection).has_table(settings.table, schema=schema):
            return None
        rows = connection.execute(
            select(*columns).order_by(table.c.id.desc()).limit(ENTRIES_READ + 1)
        ).all()
    except Exception as error:
        if _gave_up(error):
            raise
        return LedgerFacts(settings.table, True, unreadable=describe_exception(driver_error(error)))
    entries = tuple(_entry(row) for row in rows[:ENTRIES_READ])
    facts = LedgerFacts(settings.table, True, entries, truncated=len(rows) > ENTRIES_READ)
    edited = {}
    applied = project.graph.ancestors(r for r in known_rows if r in project.graph)
    for revision in sorted(applied):
        last = facts.last_entry(revision)
        if last is None or last.direction not in APPLYING or last.file_sha256 is None:
            continue
        path = project.graph.scripts[revision].path
        content = _read(path)
        if content is None or hashlib.sha256(content).hexdigest() == last.file_sha256:
            continue
        old = connection.execute(select(table.c.file_zlib).where(table.c.id == last.id)).scalar()
        edited[revision] = _since_apply(revision, project.relative(path), last, content, old)
    return LedgerFacts(
        settings.table, True, entries, edited=edited, truncated=len(rows) > ENTRIES_READ
    )


def _gave_up(error: BaseException) -> bool:
    from migdoctor.database.bounds import gave_up_waiting

    return gave_up_waiting(error)


def _entry(row: Any) -> LedgerEntry:
    applied_at = row.applied_at
    return LedgerEntry(
        id=int(row.id),
        revision=str(row.revision),
        direction=str(row.direction),
        file_sha256=row.file_sha256,
        file_path=row.file_path,
        applied_at=applied_at.isoformat(timespec="seconds") + "Z"
        if isinstance(applied_at, datetime)
        else str(applied_at),
        database_user=row.database_user,
        duration_seconds=float(row.duration_seconds) if row.duration_seconds is not None else None,
        migdoctor_version=str(row.migdoctor_version),
        alembic_version=str(row.alembic_version),
        command=str(row.command),
    )


def _since_apply(
    revision: str, path: str, last: LedgerEntry, content: bytes, old: bytes | None
) -> FileSinceApply:
    current = hashlib.sha256(content).hexdigest()
    recorded = last.file_sha256 or ""
    if old is None:
        return FileSinceApply(revision, path, recorded, current)
    try:
        before = zlib.decompress(old).decode("utf-8", "replace").splitlines()
    except zlib.error:
        return FileSinceApply(revision, path, recorded, current)
    after = content.decode("utf-8", "replace").splitlines()
    added = removed = 0
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            removed += i2 - i1
        if tag in ("replace", "insert"):
            added += j2 - j1
    return FileSinceApply(revision, path, recorded, current, added, removed)


def read_ledger_of(project: ProjectFacts) -> LedgerFacts:
    """Run env.py and read only the ledger (and the version rows), bounded as every read."""
    from migdoctor.database.bounds import read_timeout
    from migdoctor.database.environment import run_environment
    from migdoctor.database.version_table import read_version_rows

    found: list[LedgerFacts] = []

    def read(context: MigrationContext, script: Any) -> list[Any]:
        from sqlalchemy import inspect

        connection = context.connection
        assert connection is not None  # run_environment refuses offline mode
        table, schema = context.version_table, context.version_table_schema
        exists = inspect(connection).has_table(table, schema=schema)
        rows = read_version_rows(connection, table, schema) if exists else ()
        ledger = read_ledger(connection, project, schema, rows)
        found.append(ledger or LedgerFacts(project.config.ledger.table, exists=False))
        return []

    run_environment(
        project,
        read,
        read_only=True,
        action="Reading the ledger",
        read_timeout=read_timeout(project.config.options),
    )
    return found[0]
