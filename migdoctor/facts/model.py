"""Frozen facts about one project and its database: gathered once, read by every check.

Checks open no file and no connection: whatever they need to know is here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from migdoctor.facts.foreign_keys import ForeignKeyFacts
from migdoctor.facts.git_history import GitHistory
from migdoctor.facts.ledger import LedgerFacts
from migdoctor.facts.operations import RevisionOperations
from migdoctor.facts.server_version import ServerVersion
from migdoctor.facts.sessions import RunInProgress, SessionInfo
from migdoctor.facts.table_measures import TableMeasures
from migdoctor.findings import Location
from migdoctor.project.archive import SquashArchive
from migdoctor.project.config import ProjectConfig
from migdoctor.project.graph import RevisionGraph
from migdoctor.project.model_candidates import ProjectModels
from migdoctor.project.scripts import RevisionScript, ScriptLoadError

_Derived = TypeVar("_Derived")

CASE_INSENSITIVE_TABLE_NAMES = frozenset({"sqlite", "mysql", "mariadb", "mssql"})

# which live tables DatabaseFacts.tables holds (columns and indexes reflected)
ALL_TABLES = "all"
# only those the recorded operations name: reflecting thousands of tables when nothing is
# pending would cost more than everything else a check does
OPERATION_TABLES = "operations"


@dataclass(frozen=True)
class ProjectFacts:
    """The Alembic project: its configuration and its revision scripts."""

    config: ProjectConfig
    scripts: tuple[RevisionScript, ...]
    load_errors: tuple[ScriptLoadError, ...]
    graph: RevisionGraph
    # files whose header was read but which fail when imported as alembic imports them (empty
    # when they were not imported: ``heads``, ``history``), and why they could not be imported
    # at all when that is so
    import_errors: tuple[ScriptLoadError, ...] = ()
    imports_unchecked: str | None = None
    # each version file's (size, mtime_ns, inode) when its header was read (empty without the
    # header cache)
    file_signatures: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)
    # the revisions migdoctor squash archived (``<script_location>/squashed/<REV>/``)
    archives: tuple[SquashArchive, ...] = ()

    @property
    def heads(self) -> tuple[str, ...]:
        return self.graph.heads

    def script(self, revision: str) -> RevisionScript:
        return self.graph.scripts[revision]

    def history_problems(self) -> list[tuple[str, str]]:
        """Why alembic cannot even load this history (it would stop before migrating): the slug
        of the check that shows it, and the words."""
        graph = self.graph
        problems = []
        if self.load_errors:
            problems.append(
                (
                    "script-load-error",
                    f"{len(self.load_errors)} revision file(s) cannot be loaded "
                    "(see script-load-error)",
                )
            )
        if self.import_errors:
            first = self.import_errors[0]
            where = self.relative(first.path) + (f":{first.line}" if first.line else "")
            problems.append(
                (
                    "script-load-error",
                    f"{len(self.import_errors)} revision file(s) fail when imported, first "
                    f"{where}: {first.message.rstrip('.')} (see script-load-error)",
                )
            )
        if graph.missing:
            problems.append(
                (
                    "missing-down-revision",
                    f"revision {graph.missing[0].revision} names {graph.missing[0].missing}, "
                    "which does not exist (see missing-down-revision)",
                )
            )
        if graph.cycle:
            problems.append(("revision-cycle", "the history has a cycle (see revision-cycle)"))
        if graph.label_clashes:
            problems.append(
                (
                    "branch-label-clash",
                    f"branch label {graph.label_clashes[0].label} is declared twice "
                    "(see branch-label-clash)",
                )
            )
        return problems

    def relative(self, path: Path) -> str:
        """A path as the user would type it from where they run migdoctor (as
        ``path.absolute().relative_to(Path.cwd())`` says it, in words: thousands of findings'
        locations are made per run)."""
        cwd = os.getcwd()
        text = str(path)
        absolute = text if os.path.isabs(text) else os.path.join(cwd, text)
        if absolute == cwd:
            return "."
        inside = cwd if cwd.endswith(os.sep) else cwd + os.sep
        return absolute[len(inside) :] if absolute.startswith(inside) else text

    def revision_location(self, script: RevisionScript, down_revision: bool = False) -> Location:
        """A revision's file, at its ``revision =`` statement (or ``down_revision =``)."""
        line = script.down_revision_line if down_revision else script.revision_line
        return Location(self.relative(script.path), line or script.revision_line)

    def revision_locations(self, revisions: Iterable[str]) -> tuple[Location, ...]:
        """The files of those of ``revisions`` that a script defines, in order."""
        scripts = self.graph.scripts
        return tuple(self.revision_location(scripts[r]) for r in revisions if r in scripts)

    @property
    def config_location(self) -> tuple[Location, ...]:
        """The configuration file (alembic.ini, or pyproject.toml), when there is one."""
        found = self.config.config_file
        return (Location(self.relative(found)),) if found is not None else ()

    @property
    def env_py_location(self) -> Location:
        return Location(self.relative(self.config.script_location / "env.py"))


@dataclass(frozen=True)
class ColumnFact:
    name: str
    type: str
    nullable: bool
    # the reflected SQLAlchemy type, for the dialect's own type comparison
    type_object: Any = field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class InvalidIndex:
    """A PostgreSQL index marked INVALID (``pg_index.indisvalid``) with no build in progress:
    what a failed ``CREATE INDEX CONCURRENTLY`` leaves. ``definition`` is its CREATE INDEX."""

    schema: str
    table: str
    name: str
    definition: str
    unique: bool = False

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class IndexFact:
    """A named index of a live table, as reflected: its columns in order (an expression the
    reflection cannot name is None) and whether it is unique. On MySQL/MariaDB a unique
    constraint is one; the primary key is not among them."""

    name: str
    columns: tuple[str | None, ...] = ()
    unique: bool = False


@dataclass(frozen=True)
class TableFact:
    """A table of the live database; ``schema`` is None for the default schema."""

    name: str
    schema: str | None
    columns: tuple[ColumnFact, ...]
    index_facts: tuple[IndexFact, ...] = ()

    @property
    def indexes(self) -> tuple[str, ...]:
        """The names of its indexes."""
        return tuple(index.name for index in self.index_facts)

    def index(self, name: str) -> IndexFact | None:
        return next((index for index in self.index_facts if index.name == name), None)

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def has_column(self, name: str, case_insensitive: bool) -> bool:
        if case_insensitive:
            return name.lower() in {column.lower() for column in self.column_names}
        return name in self.column_names


@dataclass(frozen=True)
class TargetMetadataFacts:
    """What env.py passed as ``target_metadata`` to ``context.configure``."""

    tables: tuple[str, ...]
    described_as: str  # "None", "MetaData", "list of 2 MetaData"
    is_none: bool = False
    configured_at: Location | None = None  # env.py and the line of its context.configure(...)


@dataclass(frozen=True)
class SchemaDifference:
    """One difference between the models and the live schema, as autogenerate sees it.

    ``operation`` is alembic's name for it (``add_column``: in the models only; ``remove_table``:
    in the database only; ``modify_type``: both have it, differently), ``words`` the sentence a
    report shows; ``refers_to`` the table a foreign key difference points at (schema-qualified
    as alembic names it).
    """

    operation: str
    table: str
    name: str
    words: str
    refers_to: str = ""


@dataclass(frozen=True)
class SchemaDriftFacts:
    """The comparison of the live schema with ``target_metadata`` (at the head revision only);
    ``error`` says why the comparison could not be made."""

    differences: tuple[SchemaDifference, ...]
    error: str | None = None


@dataclass(frozen=True)
class RevisionSchemaComparison:
    """The live schema compared, by alembic's autogenerate comparison, with the schema the
    history describes at ``revisions`` (every revision up to them applied; ``()`` is the empty
    schema before the first revision).

    ``differences`` leave out what the history cannot know: ``untracked_tables`` (live tables no
    revision ever names) and ``uncertain_tables`` (tables raw SQL or a database-dependent
    ``upgrade()`` touches). ``error`` says why the comparison failed.
    """

    revisions: tuple[str, ...]
    differences: tuple[SchemaDifference, ...] = ()
    untracked_tables: tuple[str, ...] = ()
    uncertain_tables: tuple[str, ...] = ()
    error: str | None = None
    # "alembic" (autogenerate's comparison), or "structure": tables, columns, types,
    # nullability and indexes only, where nothing is to be decided (at the head)
    method: str = "alembic"

    @property
    def matches(self) -> bool:
        return self.error is None and not self.differences


@dataclass(frozen=True)
class SchemaHistoryFacts:
    """Which revision the live schema really is at, from the schema at every revision.

    ``distances`` ranks every revision by how far its schema is from the live one (tables,
    columns, types by the dialect's own comparison, nullability, named indexes); ``compared``
    holds alembic's full comparison for the revisions that matter (the current one, the
    closest ones, the heads, any asked for). ``unknown`` says why nothing
    could be inferred.
    """

    compared: tuple[RevisionSchemaComparison, ...] = ()
    distances: Mapping[str, int] = field(default_factory=dict)
    # revisions whose schema the live one equals by alembic's comparison, newest first
    matching: tuple[str, ...] = ()
    # those of them a stamp may name: the equality does not rest on tables that a revision
    # after the oldest match made uncertain (raw SQL, a revision read from its source only),
    # so stamping one skips nothing the schema could not show
    stampable: tuple[str, ...] = ()
    # the live tables no revision names (qualified when not in the default schema)
    untracked_tables: tuple[str, ...] = ()
    unknown: str | None = None

    def comparison(self, revisions: Iterable[str]) -> RevisionSchemaComparison | None:
        wanted = tuple(sorted(revisions))
        return next((c for c in self.compared if tuple(sorted(c.revisions)) == wanted), None)

    def closest(self) -> tuple[str, ...]:
        """The revisions at the smallest distance, newest first (as ``distances`` lists them)."""
        if not self.distances:
            return ()
        best = min(self.distances.values())
        return tuple(r for r, distance in self.distances.items() if distance == best)


@dataclass(frozen=True)
class UncheckedRun:
    """A further database or schema env.py migrated in the same run (a loop over tenant
    schemas, alembic's multidb template): its version table was read, nothing else checked."""

    where: str  # the schema (PostgreSQL's search_path) or the database, and the server
    version_rows: tuple[str, ...]
    version_table_exists: bool = True


@dataclass(frozen=True)
class DatabaseFacts:
    """The live database as env.py connects to it."""

    url: str
    dialect: str
    driver: str
    # the server and its version, read with the connection (the lock and rewrite verdicts'
    # knowledge depends on it: operations/locks.py, operations/rewrites.py)
    server_version: ServerVersion
    default_schema: str | None
    version_table: str
    version_table_schema: str | None
    version_table_exists: bool
    version_rows: tuple[str, ...]
    tables: tuple[TableFact, ...]
    target_metadata: TargetMetadataFacts | None = None
    # other sessions holding locks or open transactions on tables pending revisions touch
    blocking_sessions: tuple[SessionInfo, ...] = ()
    sessions_unreadable: str | None = None  # why they could not be read (a privilege, say)
    # None: not compared (the database is not at the head, or target_metadata has no tables)
    schema_drift: SchemaDriftFacts | None = None
    # ALL_TABLES, or OPERATION_TABLES: then ``tables`` holds only the live tables that the
    # recorded operations name (as this database matches names)
    tables_read: str = ALL_TABLES
    # the names of every live table (qualified when not in the default schema), reflected or
    # not: in the default schema, the version table's and the operations' schemas
    table_names: tuple[str, ...] = ()
    # which revision the schema is at (None: not inferred, e.g. only pending revisions recorded)
    schema_history: SchemaHistoryFacts | None = None
    # alembic's impl.transactional_ddl for this connection: a failed revision is rolled back
    transactional_ddl: bool = False
    # another run (upgrade, fix, ...) holds the migration lock: its half-done work is no finding
    run_in_progress: RunInProgress | None = None
    # migdoctor's ledger of applied revisions (None: no ledger table)
    ledger: LedgerFacts | None = None
    # sizes, NULLs and duplicates of the live tables pending operations touch (None: not
    # measured, e.g. nothing pending or another run in progress)
    table_measures: TableMeasures | None = None
    # PostgreSQL: indexes a failed concurrent build left INVALID (None: not read, or not PG)
    invalid_indexes: tuple[InvalidIndex, ...] | None = None
    # MySQL/MariaDB: the foreign keys of its schemas, each of which InnoDB keeps an index for at
    # both ends (None: not read, or not MySQL)
    foreign_keys: ForeignKeyFacts | None = None
    # where env.py's connection was (its schema when env.py set the search_path, else its
    # database): named when env.py migrated several in one run, ``unchecked_runs`` the others
    where: str = ""
    unchecked_runs: tuple[UncheckedRun, ...] = ()

    @property
    def qualified_version_table(self) -> str:
        if self.version_table_schema:
            return f"{self.version_table_schema}.{self.version_table}"
        return self.version_table

    @property
    def case_insensitive_names(self) -> bool:
        return self.dialect in CASE_INSENSITIVE_TABLE_NAMES

    def normalize_schema(self, schema: str | None) -> str | None:
        return None if schema is None or schema == self.default_schema else schema

    def table(self, name: str, schema: str | None = None) -> TableFact | None:
        """The live table ``schema.name``, matched the way this database matches names."""
        schema = self.normalize_schema(schema)
        exact, folded = self._tables_by_name
        found = exact.get((schema, name))
        if found is None and self.case_insensitive_names:
            found = folded.get((schema, name.lower()))
        return found

    @cached_property
    def _tables_by_name(
        self,
    ) -> tuple[dict[tuple[str | None, str], TableFact], dict[tuple[str | None, str], TableFact]]:
        """The tables by (schema, name), and by (schema, lower-cased name): the first of each."""
        exact: dict[tuple[str | None, str], TableFact] = {}
        folded: dict[tuple[str | None, str], TableFact] = {}
        for table in self.tables:
            exact.setdefault((table.schema, table.name), table)
            folded.setdefault((table.schema, table.name.lower()), table)
        return exact, folded


@dataclass(frozen=True)
class Facts:
    """Everything the checks may read."""

    project: ProjectFacts
    database: DatabaseFacts | None
    operations: Mapping[str, RevisionOperations] = field(default_factory=dict)
    invocation: tuple[str, ...] = ("migdoctor",)
    # the MetaData candidates the project's modules declare, read statically: gathered only
    # when env.py's target_metadata holds no tables
    models: ProjectModels | None = None
    # where git has the revisions the version table names and no script defines: gathered
    # only when there are such
    git: GitHistory | None = None

    @property
    def offline(self) -> bool:
        return self.database is None

    def derived(self, compute: Callable[[Facts], _Derived]) -> _Derived:
        """``compute(self)``, worked out once for these facts by the first that asks: what
        several checks derive alike (the pending operations' hazards, say), by modules these
        facts know nothing of."""
        memo: dict[Any, Any] = self.__dict__.setdefault("_derived", {})
        if compute not in memo:
            memo[compute] = compute(self)
        derived: _Derived = memo[compute]
        return derived

    @cached_property
    def unknown_current(self) -> tuple[str, ...]:
        """Ids in the version table that no script defines."""
        if self.database is None:
            return ()
        return tuple(r for r in self.database.version_rows if r not in self.project.graph)

    @cached_property
    def archived_current(self) -> Mapping[str, SquashArchive]:
        """Ids in the version table that no script defines but a squash archived, with the
        archive, when the revision it squashed up to is in the history: the database is behind
        the squash (``behind-squash``), not at an unknown revision."""
        found: dict[str, SquashArchive] = {}
        for row in self.unknown_current:
            for archive in self.project.archives:
                if row in archive.revisions and archive.up_to in self.project.graph:
                    found[row] = archive
        return found

    @cached_property
    def version_overlaps(self) -> tuple[tuple[str, str], ...]:
        """(ancestor, descendant) pairs of version-table rows where one row is an ancestor of
        another (through down_revision or depends_on, as alembic sees it): alembic then refuses
        to upgrade with "Requested revision X overlaps with other requested revisions"."""
        if self.database is None:
            return ()
        graph = self.project.graph
        rows = [row for row in dict.fromkeys(self.database.version_rows) if row in graph]
        return tuple(
            (ancestor, descendant)
            for descendant in rows
            for ancestor in rows
            if ancestor != descendant and ancestor in graph.ancestors([descendant])
        )

    @cached_property
    def pending(self) -> tuple[str, ...] | None:
        """Revisions ``upgrade heads`` would run, in order; None when the version table names
        a revision no script defines (then nothing can be said about what is pending).

        When the rows overlap (one is an ancestor of another), these are the revisions after
        the newest rows: what upgrade runs once the redundant ancestor rows are deleted. alembic
        itself refuses to upgrade until then (``version_overlaps``)."""
        if self.database is None or self.unknown_current:
            return None
        return tuple(self.project.graph.pending(self.database.version_rows))

    def recorded(self, revisions: Iterable[str]) -> list[RevisionOperations]:
        """The recorded operations of ``revisions`` in order (unrecorded ones left out)."""
        return [self.operations[r] for r in revisions if r in self.operations]

    def fix_command(self, fix_id: str, *arguments: str) -> str:
        """The exact command line that applies a fix, with the options this run was given."""
        return " ".join((*self.invocation, "fix", fix_id, *arguments))
