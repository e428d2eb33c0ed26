"""A fingerprint of the default schema that changes whenever its reflection may, read in a
query or a few instead of reflecting: the key under which the tables read and alembic's
comparisons are kept (:mod:`migdoctor.database.schema`, :mod:`migdoctor.database.drift_cache`).

- SQLite: every statement of ``sqlite_master``, which are the whole schema (SQLite rewrites
  them on ``ALTER TABLE``) and what its reflection reads each table's columns and indexes from;
- MySQL and MariaDB: every table's ``SHOW CREATE TABLE`` statement, which is all SQLAlchemy
  parses a table's columns, keys, constraints, comment and options from, without the
  ``AUTO_INCREMENT=`` counter of inserted rows (SQLAlchemy leaves it out too);
- PostgreSQL: every row version (``ctid``, ``xmin``) of the system catalogs SQLAlchemy's
  reflection (``sqlalchemy.dialects.postgresql.pg_catalog``) and alembic's serial-sequence
  question read, and of those whose names the functions reflection calls print (functions,
  operators, dependencies): a catalog row changed, added or removed is a new version, so
  nothing reflection reads can change while the key stays. Only the rows that can matter to
  the default schema are read: those of the schemas of the search path and of the tables
  its foreign keys refer to, not those of the database's other schemas;
- with the settings the reading depends on: the server's version, the dialect's, the search
  path (PostgreSQL prints names relative to it), the default schema.

None elsewhere, and where reflection reads more than the key covers (MySQL names matched
without case: SQLAlchemy asks ``information_schema`` for referenced columns' case), or the key
cannot be read: the caller then reflects as SQLAlchemy does.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Protocol

from migdoctor import __version__

# bump when what a key covers, or what is kept under one, changes
KEY_SCHEMA = 1
# where the live key is kept in the inspector's cache, read once per inspector
_INSPECTOR_KEY = "migdoctor_live_schema_key"
_SQLITE_SCHEMA = "select type, name, tbl_name, sql from sqlite_master order by type, name"
# MySQL writes the counter before the table's COMMENT, the one option that holds free text
_AUTO_INCREMENT_OPTION = re.compile(r" AUTO_INCREMENT=[0-9]+")
# PostgreSQL: every catalog SQLAlchemy's reflection reads (its pg_catalog.py's tables),
# alembic's serial-sequence question reads (pg_depend), and pg_get_expr, pg_get_constraintdef,
# pg_get_indexdef and format_type print names from (functions, operators), each with the rows
# that can matter to the default schema: those of the schemas of the search path (the names
# printed depend on what they hold) and of the tables its foreign keys refer to elsewhere;
# the catalogs of a database's other schemas (one per tenant, say) are left out
_POSTGRES_SCOPE = """
with scope as (
    select oid from pg_catalog.pg_namespace
    where nspname = any(current_schemas(true)) or nspname = current_schema()
),
rels as (
    select oid from pg_catalog.pg_class where relnamespace in (select oid from scope)
),
refs as (
    select confrelid as oid from pg_catalog.pg_constraint
    where conrelid in (select oid from rels) and confrelid <> 0
),
cons as (
    select oid from pg_catalog.pg_constraint
    where conrelid in (select oid from rels) or contypid <> 0
)
"""
POSTGRES_CATALOGS = {
    "pg_namespace": "oid in (select oid from scope) or oid in (select relnamespace from "
    "pg_catalog.pg_class where oid in (select oid from refs)) or oid in (select typnamespace "
    "from pg_catalog.pg_type where typtype in ('e', 'd') or oid in (select atttypid from "
    "pg_catalog.pg_attribute where attrelid in (select oid from rels)))",
    "pg_class": "relnamespace in (select oid from scope) or oid in (select oid from refs)",
    "pg_attribute": "attrelid in (select oid from rels) or attrelid in (select oid from refs)",
    "pg_attrdef": "adrelid in (select oid from rels)",
    "pg_constraint": "oid in (select oid from cons)",
    "pg_index": "indrelid in (select oid from rels)",
    "pg_description": "objoid in (select oid from rels) or objoid in (select oid from cons)",
    "pg_type": "typnamespace in (select oid from scope) or typtype in ('e', 'd') or oid in "
    "(select atttypid from pg_catalog.pg_attribute where attrelid in (select oid from rels))",
    "pg_enum": "true",
    "pg_sequence": "seqrelid in (select oid from rels)",
    "pg_inherits": "inhrelid in (select oid from rels) or inhparent in (select oid from rels)",
    "pg_partitioned_table": "partrelid in (select oid from rels)",
    "pg_depend": "objid in (select oid from rels) or refobjid in (select oid from rels)",
    "pg_collation": "true",
    "pg_am": "true",
    "pg_opclass": "true",
    "pg_tablespace": "true",
    "pg_proc": "true",
    "pg_operator": "true",
}
_POSTGRES_VERSIONS = (
    _POSTGRES_SCOPE
    + "select current_setting('search_path'), current_schema(), "
    + ", ".join(
        f"(select md5(string_agg(ctid::text || ':' || xmin::text, ',' order by ctid)) "
        f"from pg_catalog.{catalog} where {rows})"
        for catalog, rows in POSTGRES_CATALOGS.items()
    )
)


class KeptReadings(Protocol):
    """Where readings are kept under a key (the comparison cache)."""

    def get_pickled(self, key: str) -> Any: ...

    def put_pickled(self, key: str, value: Any) -> None: ...


def live_schema_key(inspector: Any, purpose: str, *kept: type) -> str | None:
    """The default schema's fingerprint for ``purpose`` (see the module), once per inspector;
    None where there is none. ``kept``: the classes of what is kept under it (dataclasses),
    whose fields are part of the key, so that an older shape is never taken for a new one."""
    cache = inspector.info_cache
    if _INSPECTOR_KEY not in cache:
        cache[_INSPECTOR_KEY] = _live_parts(inspector)
    parts = cache[_INSPECTOR_KEY]
    if parts is None:
        return None
    import sqlalchemy

    dialect = inspector.dialect
    settings = (
        KEY_SCHEMA,
        purpose,
        _shapes(kept),
        __version__,
        sqlalchemy.__version__,
        dialect.name,
        dialect.driver,
        dialect.server_version_info,
        inspector.default_schema_name,
    )
    return hashlib.sha256(repr((settings, parts)).encode()).hexdigest()


def _shapes(classes: tuple[type, ...]) -> object:
    """Each dataclass's name and fields, with those of the dataclasses its fields name."""
    import dataclasses
    import typing

    shapes: dict[str, tuple[str, ...]] = {}
    waiting = list(classes)
    while waiting:
        cls = waiting.pop()
        if cls.__qualname__ in shapes or not dataclasses.is_dataclass(cls):
            continue
        fields = dataclasses.fields(cls)
        shapes[cls.__qualname__] = tuple(f"{field.name}: {field.type}" for field in fields)
        hints = typing.get_type_hints(cls)
        for field in fields:
            waiting += [
                named
                for named in _named_classes(hints.get(field.name))
                if dataclasses.is_dataclass(named)
            ]
    return tuple(sorted(shapes.items()))


def _named_classes(hint: Any) -> list[type]:
    import typing

    if isinstance(hint, type):
        return [hint]
    return [cls for argument in typing.get_args(hint) for cls in _named_classes(argument)]


def _live_parts(inspector: Any) -> object:
    name = inspector.dialect.name
    if name == "sqlite":
        statements = inspector.bind.exec_driver_sql(_SQLITE_SCHEMA)
        return tuple(tuple(row) for row in statements)
    if name in ("mysql", "mariadb"):
        return _mysql_statements(inspector)
    if name == "postgresql":
        return _postgres_catalog_versions(inspector)
    return None


def _mysql_statements(inspector: Any) -> object:
    """Every table with its ``SHOW CREATE TABLE`` statement, counter left out, and the
    dialect's settings the parse depends on."""
    from sqlalchemy.exc import DBAPIError

    from migdoctor.database.bounds import gave_up_waiting

    dialect = inspector.dialect
    if getattr(dialect, "_casing", None) != 0:
        return None
    quote = dialect.identifier_preparer.quote_identifier
    connection = inspector.bind
    statements = []
    for name in sorted(inspector.get_table_names(schema=None)):
        try:
            row = connection.exec_driver_sql(f"SHOW CREATE TABLE {quote(name)}").first()
        except DBAPIError as error:  # e.g. dropped since it was listed
            if gave_up_waiting(error):
                raise
            return None
        if row is None or len(row) < 2:
            return None
        text = row[1]
        if isinstance(text, bytes):
            text = text.decode("utf-8", "surrogateescape")
        statements.append((name, without_counter(str(text))))
    settings = (
        getattr(dialect, "is_mariadb", None),
        getattr(dialect, "_connection_charset", None),
        getattr(dialect, "_server_ansiquotes", None),
    )
    return (settings, tuple(statements))


def without_counter(statement: str) -> str:
    """A ``SHOW CREATE TABLE`` statement without the table's ``AUTO_INCREMENT=`` option in its
    last line, where the table options are."""
    body, newline, options = statement.rpartition("\n")
    comment = options.find(" COMMENT=")
    head, tail = (options, "") if comment < 0 else (options[:comment], options[comment:])
    return body + newline + _AUTO_INCREMENT_OPTION.sub("", head, count=1) + tail


def _postgres_catalog_versions(inspector: Any) -> object:
    """The search path, the current schema and a digest of every catalog's row versions
    (PostgreSQL 10 and later, which have every catalog read)."""
    if tuple(inspector.dialect.server_version_info or ()) < (10,):
        return None
    from sqlalchemy.exc import DBAPIError

    from migdoctor.database.bounds import gave_up_waiting

    connection = inspector.bind
    try:
        # in a savepoint: a catalog a PostgreSQL-like server lacks leaves the capture's
        # transaction usable, and the schema is reflected instead
        with connection.begin_nested():
            return tuple(connection.exec_driver_sql(_POSTGRES_VERSIONS).one())
    except DBAPIError as error:
        if gave_up_waiting(error):
            raise
        return None
