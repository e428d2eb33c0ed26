"""PostgreSQL indexes left INVALID by a failed ``CREATE INDEX CONCURRENTLY`` (or ``REINDEX
CONCURRENTLY``): PostgreSQL keeps the half-built index, marked invalid. Queries do not use it,
yet every write still maintains it (a unique one still refuses duplicates), and running the
migration again fails on its name. An index whose concurrent build is running right now is
invalid too until it ends: those (``pg_stat_progress_create_index``) are left out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from migdoctor.facts.model import InvalidIndex

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

_QUERY = """
SELECT n.nspname, t.relname, c.relname, pg_get_indexdef(i.indexrelid), i.indisunique
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%'
  AND NOT EXISTS (
    SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid
  )
ORDER BY n.nspname, t.relname, c.relname
"""


def read_invalid_indexes(connection: Connection) -> tuple[InvalidIndex, ...] | None:
    """The invalid indexes of the database (None on another database, or when the catalog
    could not be read: the check then says nothing). The caller bounds the read; it runs in a
    savepoint, so a failure leaves the capture's transaction usable."""
    if connection.dialect.name != "postgresql":
        return None
    try:
        with connection.begin_nested():
            rows = connection.exec_driver_sql(_QUERY).all()
    except Exception:  # noqa: BLE001 - a catalog this user may not read: nothing is claimed
        return None
    return tuple(
        InvalidIndex(str(schema), str(table), str(name), str(definition), bool(unique))
        for schema, table, name, definition, unique in rows
    )
