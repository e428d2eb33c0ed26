"""The answers of alembic's comparison of the live schema with the models (or with the schema
of a revision), each kept until one of its inputs changes.

alembic's comparison (``compare_metadata``, what ``alembic check`` runs) turns every reflected
table into SQLAlchemy objects and compares it with its model: on a thousand tables that is
seconds, run again on every ``check`` though neither the schema nor the models changed. Its
answer is a function of what it reads, and each of those inputs is fingerprinted here:

- the live side: the names of the tables and everything alembic reflects of them (columns with
  types, defaults and nullability, primary, foreign, unique and check constraints, indexes,
  comments, table options). On SQLite, MySQL and PostgreSQL the live schema's key stands for
  it (:mod:`migdoctor.database.schema_key`: the statements of ``sqlite_master``, the ``SHOW
  CREATE TABLE`` statements, the versions of the catalog rows), read without reflecting;
  elsewhere the reflection itself, read once in bulk for the comparison anyway, and on
  PostgreSQL which sequences belong to which columns (the one thing alembic asks the database
  besides);
- the models: every table, column, type, default, constraint and index of ``target_metadata``,
  with their dialect options, ``info`` and the naming convention;
- the settings: every ``context.configure`` option, a function by its code, its defaults and
  the values it closes over, and the file (size, modification time) of any code outside
  SQLAlchemy and alembic that the comparison can run: env.py's filters, a custom type;
- the versions of migdoctor, alembic, SQLAlchemy, Python and the database server.

A cached answer is used only when the fingerprint is the same. Nothing is cached when the
comparison can read what the fingerprint does not cover: other schemas (``include_schemas``),
a comparison plugin or an ``autogenerate`` extension that is not alembic's own, a migration
implementation that is not alembic's. The same cache serves the comparisons of the schema
position's inference (the history's schema at a revision instead of the models). One file per
project and database (``.migdoctor/cache/comparisons-*.bin``) holds the last 32 answers;
``MIGDOCTOR_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import pickle
import re
import sys
import types
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migdoctor import __version__
from migdoctor.database.bounds import gave_up_waiting
from migdoctor.facts.model import SchemaDifference
from migdoctor.project.cache import (
    PROJECT_FOLDER,
    cache_disabled,
    read_checked,
    user_cache_directory,
    write_checked,
)

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.engine import Inspector

MAGIC = b"migdoctor comparison cache\n"
# answers kept per project and database: the drift, and the few schemas inference compares
MAX_ENTRIES = 32
# bump when what the fingerprint covers, or what an entry holds, changes
CACHE_SCHEMA = 2
# configure() options that belong to one run, not to the comparison
_RUN_OPTIONS = frozenset(
    {"fn", "target_metadata", "output_buffer", "starting_rev", "destination_rev", "tag"}
)
# packages whose code is covered by their versions
_VERSIONED = ("sqlalchemy", "alembic", "migdoctor")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
# where the live side's fingerprint is kept, in the inspector's cache
_LIVE_KEY = "migdoctor_comparison_fingerprint"
# and whether the comparison reads only what the fingerprint covers (the same for every one)
_COVERED_KEY = "migdoctor_comparison_covered"
# a type's attributes that point back at its surroundings, not at what it is
_TYPE_REFERENCES = frozenset({"dispatch", "metadata"})

# PostgreSQL: which sequence belongs to which column (alembic asks it of every integer column
# whose default is a nextval(), to leave SERIAL columns out)
_OWNED_SEQUENCES = (
    "select c.relname, t.relname, a.attname from pg_class c "
    "join pg_depend d on d.objid = c.oid and d.classid = 'pg_class'::regclass "
    "and d.refclassid = 'pg_class'::regclass "
    "join pg_class t on t.oid = d.refobjid "
    "join pg_attribute a on a.attrelid = t.oid and a.attnum = d.refobjsubid "
    "where c.relkind = 'S' order by 1, 2, 3"
)


def comparison_key(
    context: MigrationContext,
    metadata: Any,
    inspector: Inspector,
    expected: str = "",
    metadata_key: str | None = None,
) -> str | None:
    """The fingerprint of everything alembic's comparison of the default schema with
    ``metadata`` reads (the reflection already in ``inspector``'s cache), with ``expected``
    (the words the answer is given in), or None when the comparison may read more than that.
    The live side is fingerprinted once per inspector, before any comparison runs (alembic
    renames what it compares in place). ``metadata_key``: what identifies the metadata already
    (the files a replayed history comes from), so that it is neither built nor walked."""
    try:
        live = live_fingerprint(context, inspector)
        if live is None:
            return None
        if metadata_key is not None:
            models = metadata_key
        else:
            collections = metadata if isinstance(metadata, (list, tuple)) else [metadata]
            models = _digest(
                part
                for collection in collections
                for part in _metadata_parts(collection, _Canonical(set()))
            )
    except Exception as error:  # what cannot be fingerprinted is compared, not cached
        if gave_up_waiting(error):  # a lock in the way is the run's failure, as everywhere
            raise
        return None
    return hashlib.sha256(repr((live, models, expected)).encode()).hexdigest()


def live_fingerprint(context: MigrationContext, inspector: Inspector) -> str | None:
    """The fingerprint of the live side of every comparison (the default schema as alembic
    reflects it, the settings, the versions), once per inspector; None when a comparison may
    read more than it covers. Raises what reading the database raised."""
    covered = inspector.info_cache.get(_COVERED_KEY)
    if covered is None:
        covered = inspector.info_cache[_COVERED_KEY] = _covered(context)
    if not covered:
        return None
    live = inspector.info_cache.get(_LIVE_KEY)
    if live is None:
        live = inspector.info_cache[_LIVE_KEY] = _digest(_live_parts(context, inspector))
    return str(live)


def _digest(parts: Iterable[object]) -> str:
    """The hash of ``parts``; each may carry code files (see :class:`_Canonical`), whose
    signatures are hashed last."""
    hasher = hashlib.sha256()
    code_files: set[str] = set()
    for part in parts:
        if isinstance(part, _CodeFiles):
            code_files |= part.paths
            continue
        hasher.update(repr(part).encode())
        hasher.update(b"\0")
    for path in sorted(code_files):
        hasher.update(repr(_file_signature(path)).encode())
    return hasher.hexdigest()


class _CodeFiles:
    """Files of code the comparison can run, noted while fingerprinting."""

    def __init__(self, paths: set[str]) -> None:
        self.paths = paths


def _covered(context: MigrationContext) -> bool:
    """Whether alembic's comparison reads only what the fingerprint covers."""
    from alembic.autogenerate.api import AutogenContext
    from sqlalchemy import MetaData

    if context.opts.get("include_schemas"):
        return False
    if not _versioned_code(type(context.impl)):
        return False
    # the comparators do not depend on the metadata compared
    registered = AutogenContext(context, metadata=MetaData()).comparators
    # alembic's own comparators, and whatever an extension registered (alembic-utils,
    # alembic-postgresql-enum: they read views, functions, enum values the fingerprint misses)
    comparators = [fn for entries in registered._registry.values() for fn, _ in entries]
    return all(_versioned_code(fn) for fn in comparators)


def _versioned_code(thing: Any) -> bool:
    module = getattr(thing, "__module__", None) or ""
    return module.split(".")[0] in _VERSIONED


def _live_parts(context: MigrationContext, inspector: Inspector) -> Iterator[object]:
    import alembic
    import sqlalchemy

    from migdoctor.database.schema import ALEMBIC_REFLECTION_KINDS, reflect_for_comparison
    from migdoctor.database.schema_key import live_schema_key

    dialect = inspector.dialect
    yield (
        CACHE_SCHEMA,
        __version__,
        alembic.__version__,
        sqlalchemy.__version__,
        sys.version_info[:3],
        dialect.name,
        dialect.driver,
        getattr(dialect, "server_version_info", None),
        inspector.default_schema_name,
    )
    canon = _Canonical(set())
    for name, value in sorted(context.opts.items()):
        if name not in _RUN_OPTIONS:
            yield ("option", name, canon(value))
    yield ("tables", tuple(sorted(inspector.get_table_names(schema=None))))
    connection = context.connection
    assert connection is not None  # the comparison runs online only
    schema_key = live_schema_key(inspector, "comparison")
    if schema_key is not None:
        # changes whenever anything reflected may (and PostgreSQL's owned sequences): it
        # stands for the reflection, and an unchanged schema is not reflected at all
        yield ("schema", schema_key)
        yield _CodeFiles(canon.code_files)
        return
    reflect_for_comparison(inspector)
    for kind in ALEMBIC_REFLECTION_KINDS:
        yield ("reflected", kind, _reflected(inspector.info_cache.get(f"alembic_{kind}"), canon))
    if dialect.name == "postgresql":
        owned = connection.exec_driver_sql(_OWNED_SEQUENCES)
        yield ("sequences", tuple(tuple(row) for row in owned))
    yield _CodeFiles(canon.code_files)


def _reflected(reflection: Any, canon: _Canonical) -> object:
    """The reflection of one kind (dictionaries, lists, SQLAlchemy's types), as bytes: pickle
    writes the same bytes for the same reflection and is fifty times quicker than walking it."""
    try:
        return hashlib.sha256(pickle.dumps(reflection, protocol=4)).hexdigest()
    except Exception:  # noqa: BLE001 - what pickle cannot write is walked instead
        return canon(reflection)


def _metadata_parts(metadata: Any, canon: _Canonical) -> Iterator[object]:
    yield from _tables_parts(metadata, canon)
    yield _CodeFiles(canon.code_files)


def _tables_parts(metadata: Any, canon: _Canonical) -> Iterator[object]:
    yield ("metadata", metadata.schema, canon(dict(metadata.naming_convention)))
    for table in sorted(metadata.tables.values(), key=lambda t: t.fullname):
        yield (
            "table",
            table.fullname,
            table.comment,
            canon(_dialect_kwargs(table)),
            canon(_info(table)),
        )
        for column in table.columns:
            yield (
                "column",
                column.name,
                column.key,
                canon(column.type),
                column.nullable,
                column.primary_key,
                str(column.autoincrement),
                canon(column.server_default),
                canon(column.server_onupdate),
                canon(column.computed),
                canon(column.identity),
                column.comment,
                column.index,
                column.unique,
                canon(_dialect_kwargs(column)),
                canon(_info(column)),
            )
        constraints = [_constraint_part(constraint, canon) for constraint in table.constraints]
        yield ("constraints", tuple(sorted(constraints, key=repr)))
        indexes = [
            (
                str(index.name),
                index.unique,
                tuple(canon(expression) for expression in index.expressions),
                canon(_dialect_kwargs(index)),
                canon(_info(index)),
            )
            for index in table.indexes
        ]
        yield ("indexes", tuple(sorted(indexes, key=repr)))


def _dialect_kwargs(item: Any) -> dict[str, Any]:
    """``item.dialect_kwargs`` as a dictionary; read only when some were given (SQLAlchemy
    builds the view on first use, which costs more than the rest of the fingerprint)."""
    if "dialect_options" not in vars(item):
        return {}
    return dict(item.dialect_kwargs)


def _info(item: Any) -> dict[Any, Any]:
    """``item.info``, without creating it where nobody did (it is made on first use)."""
    info = vars(item).get("info")
    return info if isinstance(info, dict) else {}


def _constraint_part(constraint: Any, canon: _Canonical) -> object:
    elements = tuple(
        (element.parent.name, element.target_fullname)
        for element in getattr(constraint, "elements", ())
    )
    return (
        type(constraint).__name__,
        str(constraint.name),
        tuple(column.name for column in constraint.columns),
        elements,
        canon(getattr(constraint, "sqltext", None)),
        getattr(constraint, "ondelete", None),
        getattr(constraint, "onupdate", None),
        getattr(constraint, "match", None),
        getattr(constraint, "use_alter", None),
        constraint.deferrable,
        constraint.initially,
        canon(_dialect_kwargs(constraint)),
        canon(_info(constraint)),
    )


class _Canonical:
    """A value as plain, comparable data: mappings sorted, SQL as text, a function as its code,
    an object as its class and its representation without memory addresses. Code outside
    SQLAlchemy, alembic and the standard library is noted by file in ``code_files``."""

    def __init__(self, code_files: set[str]) -> None:
        from sqlalchemy.sql.elements import ClauseElement
        from sqlalchemy.types import TypeEngine

        self.code_files = code_files
        self.noted: set[type] = set()
        self.clause = ClauseElement
        self.type_engine = TypeEngine

    def __call__(self, value: Any) -> object:
        kind = type(value)
        if kind is str or kind is int or kind is bool or kind is float or value is None:
            return value
        if kind is list or kind is tuple:
            return tuple(map(self, value))
        if kind is dict:
            if all(type(key) is str for key in value):
                return tuple((key, self(value[key])) for key in sorted(value))
            return tuple(sorted(((repr(k), self(v)) for k, v in value.items()), key=repr))
        if isinstance(value, str):  # a subclass: alembic's conv, say
            return str(value)
        if isinstance(value, (bytes, int, float)):
            return repr(value)
        if isinstance(value, (list, tuple)):
            return tuple(map(self, value))
        if isinstance(value, dict):
            return self(dict(value))
        if isinstance(value, (set, frozenset)):
            return tuple(sorted((self(item) for item in value), key=repr))
        if isinstance(value, (types.FunctionType, types.MethodType)):
            return self._function(value)
        if isinstance(value, types.CodeType):
            return self._code(value)
        if isinstance(value, type):
            self._note_code(value)
            return ("class", value.__module__, value.__qualname__)
        self._note_code(kind)
        if isinstance(value, self.type_engine):
            # a type's state is its public attributes (length, precision, the enum's values...)
            state = {
                key: item
                for key, item in vars(value).items()
                if not key.startswith("_") and key not in _TYPE_REFERENCES
            }
            return ("type", kind.__module__, kind.__qualname__, self(state))
        if isinstance(value, self.clause):
            return ("sql", kind.__qualname__, str(value))
        if hasattr(value, "arg"):  # a DefaultClause: the SQL it holds
            return (kind.__qualname__, self(value.arg), getattr(value, "for_update", None))
        if hasattr(value, "sqltext"):  # Computed
            return (kind.__qualname__, self(value.sqltext), _plain_repr(value))
        return (kind.__module__, kind.__qualname__, _plain_repr(value))

    def _function(self, function: Any) -> object:
        bound = getattr(function, "__self__", None)
        function = getattr(function, "__func__", function)
        closure = tuple(
            self(cell.cell_contents) if _filled(cell) else None
            for cell in function.__closure__ or ()
        )
        self.code_files.add(function.__code__.co_filename)
        return (
            "function",
            function.__module__,
            function.__qualname__,
            self._code(function.__code__),
            self(function.__defaults__),
            self(function.__kwdefaults__),
            closure,
            None if bound is None else self(bound),
        )

    def _code(self, code: types.CodeType) -> object:
        return (
            code.co_code,
            code.co_names,
            tuple(
                self._code(constant) if isinstance(constant, types.CodeType) else repr(constant)
                for constant in code.co_consts
            ),
        )

    def _note_code(self, cls: type) -> None:
        """The file of a class (or of a base class) defined outside the versioned packages and
        the standard library: its behaviour (a type's comparison, say) is in that file."""
        if cls in self.noted:
            return
        self.noted.add(cls)
        for base in cls.__mro__:
            top = base.__module__.split(".")[0]
            if top in _VERSIONED or top in sys.stdlib_module_names or top == "builtins":
                continue
            module = sys.modules.get(base.__module__)
            path = getattr(module, "__file__", None)
            if path:
                self.code_files.add(path)


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


def _plain_repr(value: object) -> str:
    return _ADDRESS.sub("", repr(value))


def _file_signature(path: str) -> tuple[str, int, int] | tuple[str]:
    try:
        stat = os.stat(path)
    except OSError:
        return (path,)
    return (path, stat.st_size, stat.st_mtime_ns)


# a difference and the (schema, table) it is about
Compared = tuple[SchemaDifference, tuple[str | None, str]]


class ComparisonCache:
    """The last answers of alembic's comparison for one project and database: the drift at
    the head, and the history's schemas the schema-position inference compared."""

    def __init__(self, base_directory: Path, url: str) -> None:
        digest = hashlib.sha256(repr((str(base_directory), url)).encode()).hexdigest()[:16]
        self.name = f"comparisons-{digest}.bin"
        self.folders = (base_directory / PROJECT_FOLDER, user_cache_directory())
        self._entries: dict[str, Any] | None = None
        self._changed = False

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            self._entries = {}
            for folder in self.folders:
                payload = read_checked(folder / self.name, MAGIC, str(CACHE_SCHEMA))
                if payload is None:
                    continue
                try:
                    entries = marshal.loads(payload)
                except (ValueError, EOFError, TypeError):
                    break
                if isinstance(entries, dict):
                    self._entries = entries
                break
        return self._entries

    def get(self, key: str) -> list[Compared] | None:
        rows = self._load().get(key)
        if not isinstance(rows, list):
            return None
        try:
            return [
                (SchemaDifference(operation, table, name, words, refers_to), (schema, table_name))
                for operation, table, name, words, refers_to, schema, table_name in rows
            ]
        except (ValueError, TypeError):
            return None

    def get_pickled(self, key: str) -> Any:
        """A value kept with :meth:`put_pickled` (None when there is none, or it cannot be
        read: it is then worked out again)."""
        payload = self._load().get(key)
        if not isinstance(payload, bytes):
            return None
        try:
            return pickle.loads(payload)
        except Exception:  # noqa: BLE001 - e.g. a class that changed: worked out again
            return None

    def put_pickled(self, key: str, value: Any) -> None:
        try:
            payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - what pickle cannot keep is not kept
            return
        self._keep(key, payload)

    def put(self, key: str, compared: Iterable[Compared]) -> None:
        # plain str: a name may be one of SQLAlchemy's str subclasses, which marshal refuses
        rows = [
            (
                str(d.operation),
                str(d.table),
                str(d.name),
                str(d.words),
                str(d.refers_to),
                None if schema is None else str(schema),
                str(table),
            )
            for d, (schema, table) in compared
        ]
        self._keep(key, rows)

    def _keep(self, key: str, value: Any) -> None:
        entries = dict(self._load())
        entries.pop(key, None)
        entries[key] = value
        while len(entries) > MAX_ENTRIES:
            del entries[next(iter(entries))]  # the oldest first
        self._entries = entries
        self._changed = True

    def save(self) -> None:
        """Write the answers put since the cache was read, once for the whole run."""
        if not self._changed or self._entries is None:
            return
        try:
            write_checked(
                self.folders, self.name, MAGIC, str(CACHE_SCHEMA), marshal.dumps(self._entries)
            )
        except (OSError, ValueError):  # a cache that cannot be written is not written
            return
        self._changed = False


def comparison_cache(base_directory: Path | None, url: str) -> ComparisonCache | None:
    if base_directory is None or cache_disabled():
        return None
    return ComparisonCache(base_directory, url)
