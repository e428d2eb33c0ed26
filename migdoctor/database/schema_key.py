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
  nothing reflection reads can change while the key stays;
- with the settings the reading depends on: the server's version, the dialect's, the search
  path (PostgreSQL prints names relative to it), the default schema.

None elsewhere, and where reflection reads more than the key covers (MySQL names matched
without case: SQLAlchemy asks ``information_schema`` for referenced columns' case), or the key
cannot be read: the caller then reflects as SQLAlchemy does.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from migdoctor import __version__

# bump when what a key covers, or what is kept under one, changes
KEY_SCHEMA = 1
# where the live key is kept in the inspector's cache, read once per inspector
_INSPECTOR_KEY = "migdoctor_live_schema_key"
_SQLITE_SCHEMA = "select type, name, tbl_name, sql from sqlite_master order by type, name"
# MySQL writes the counter before the table's COMMENT, the one option that holds free text
_AUTO_INCREMENT_OPTION = re.compile(r" AUTO_INCREMENT=[0-9]+")
# what PostgreSQL's reflection reads (pg_catalog.py's tables), alembic's serial sequence
# question reads (pg_depend), and what pg_get_expr, pg_get_constraintdef, pg_get_indexdef and
# format_type print names from
POSTGRES_CATALOGS = (
    "pg_namespace",
    "pg_class",
    "pg_type",
    "pg_index",
    "pg_attribute",
    "pg_constraint",
    "pg_sequence",
    "pg_attrdef",
    "pg_description",
    "pg_enum",
    "pg_am",
    "pg_collation",
    "pg_opclass",
    "pg_inherits",
    "pg_tablespace",
    "pg_partitioned_table",
    "pg_depend",
    "pg_proc",
    "pg_operator",
)
_POSTGRES_VERSIONS = "select current_setting('search_path'), current_schema(), " + ", ".join(
    f"(select md5(string_agg(ctid::text || ':' || xmin::text, ',' order by ctid)) "
    f"from pg_catalog.{catalog})"
    for catalog in POSTGRES_CATALOGS
)


def live_schema_key(inspector: Any, purpose: str) -> str | None:
    """The default schema's fingerprint for ``purpose`` (see the module), once per inspector;
    None where there is none."""
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
        __version__,
        sqlalchemy.__version__,
        dialect.name,
        dialect.driver,
        dialect.server_version_info,
        inspector.default_schema_name,
    )
    return hashlib.sha256(repr((settings, parts)).encode()).hexdigest()


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
    return tuple(inspector.bind.exec_driver_sql(_POSTGRES_VERSIONS).one())
