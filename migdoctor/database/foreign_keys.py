"""The foreign keys and primary keys of a MySQL/MariaDB database's schemas, read from
``information_schema``: InnoDB needs an index for each end of a foreign key
(``facts/foreign_keys.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from migdoctor.facts.foreign_keys import ForeignKeyFact, ForeignKeyFacts, TableName

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Inspector

    from migdoctor.database.schema_key import KeptReadings

_QUERY = """
SELECT k.CONSTRAINT_NAME, k.TABLE_SCHEMA, k.TABLE_NAME, k.COLUMN_NAME,
       k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME
FROM information_schema.KEY_COLUMN_USAGE k
WHERE (k.REFERENCED_TABLE_NAME IS NOT NULL OR k.CONSTRAINT_NAME = 'PRIMARY')
  AND k.TABLE_SCHEMA = :schema
ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION
"""


def kept_foreign_keys(
    connection: Connection,
    inspector: Inspector,
    schemas: Iterable[str | None],
    kept: KeptReadings | None,
) -> ForeignKeyFacts | None:
    """:func:`read_foreign_keys`, kept under the live schema's key when only the default
    schema is read (every table's ``SHOW CREATE TABLE``, which holds its keys): an unchanged
    schema's keys are not read again."""
    from migdoctor.database.schema_key import live_schema_key

    default_schema = inspector.default_schema_name
    wanted = set(schemas)
    key = None
    if kept is not None and wanted == {None} and connection.dialect.name in ("mysql", "mariadb"):
        key = live_schema_key(inspector, "foreign keys", ForeignKeyFacts)
    if key is not None and kept is not None:
        reading = kept.get_pickled(key)
        if isinstance(reading, ForeignKeyFacts):
            return reading
    read = read_foreign_keys(connection, wanted, default_schema)
    if key is not None and kept is not None and read is not None:
        kept.put_pickled(key, read)
    return read


def read_foreign_keys(
    connection: Connection, schemas: Iterable[str | None], default_schema: str | None
) -> ForeignKeyFacts | None:
    """The foreign keys and primary keys of the tables of ``schemas`` (None: the default one;
    a key from a table of another schema is not read); None on another database, or when the
    catalog could not be read (no judgement is then made). One query per schema: MySQL's
    catalog finds the tables of one named schema without opening every other database's. The
    caller bounds the reads; they run in a savepoint, so a failure leaves the capture's
    transaction usable."""
    if connection.dialect.name not in ("mysql", "mariadb"):
        return None
    names = sorted({schema or default_schema or "" for schema in schemas} - {""})
    if not names:
        return None
    from sqlalchemy import text

    rows: list[Any] = []
    try:
        with connection.begin_nested():
            for name in names:
                rows += connection.execute(text(_QUERY), {"schema": name}).all()
    except Exception:  # noqa: BLE001 - a catalog this user may not read: nothing is claimed
        return None

    def local(schema: str | None) -> str | None:
        return None if schema is None or schema == default_schema else str(schema)

    keys: dict[tuple[str | None, str, str], list[tuple[str, str | None, str, str]]] = {}
    primary: dict[TableName, list[str]] = {}
    for name, schema, table, column, referred_schema, referred_table, referred_column in rows:
        if name == "PRIMARY" and referred_table is None:
            primary.setdefault((local(schema), str(table)), []).append(str(column))
            continue
        keys.setdefault((local(schema), str(table), str(name)), []).append(
            (str(column), local(referred_schema), str(referred_table), str(referred_column))
        )
    foreign_keys = tuple(
        ForeignKeyFact(
            name=name,
            schema=schema,
            table=table,
            columns=tuple(column for column, *_ in parts),
            referred_schema=parts[0][1],
            referred_table=parts[0][2],
            referred_columns=tuple(part[3] for part in parts),
        )
        for (schema, table, name), parts in keys.items()
    )
    return ForeignKeyFacts(foreign_keys, {table: tuple(c) for table, c in primary.items()})
