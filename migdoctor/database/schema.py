"""Read the live schema: tables, their columns and indexes, per schema."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from migdoctor.database.schema_key import KeptReadings, live_schema_key
from migdoctor.facts.model import ColumnFact, IndexFact, TableFact


def read_tables(
    inspector: Any,
    schemas: Iterable[str | None],
    exclude: Iterable[tuple[str | None, str]],
    only: Callable[[str | None, str], bool] | None = None,
    kept: KeptReadings | None = None,
) -> tuple[tuple[TableFact, ...], tuple[str, ...]]:
    """The tables of ``schemas`` (None is the default schema) except ``exclude`` (the version
    table and migdoctor's ledger, as (schema, name)), reflected, and the names of them all
    (qualified when not in the default schema). With ``only``, only the tables it accepts are
    reflected: the names are listed (a query per schema) and just those tables' columns and
    indexes read. With ``kept``, the default schema's tables are taken from it while its
    :func:`~migdoctor.database.schema_key.live_schema_key` is the one they were read under."""
    excluded = {
        (None if schema == inspector.default_schema_name else schema, name)
        for schema, name in exclude
    }
    type_text = _TypeText()
    tables: list[TableFact] = []
    every_name: list[str] = []
    for schema in sorted(schemas, key=lambda s: (s is not None, s or "")):
        if schema is not None and schema not in inspector.get_schema_names():
            continue
        names = None
        if only is not None:
            listed = sorted(
                name for name in _table_names(inspector, schema) if (schema, name) not in excluded
            )
            every_name += [f"{schema}.{name}" if schema else name for name in listed]
            names = [name for name in listed if only(schema, name)]
            if not names:
                continue
        if names is not None and 2 * len(names) > len(listed):
            names = None  # most of the tables: one bulk read (shared, see reflected_in_bulk)
        if schema is None and names is None and kept is not None:
            read = _kept_reading(inspector, kept, type_text)
        else:
            read = _schema_tables(inspector, schema, names, type_text)
        for table in read:
            if (schema, table.name) in excluded or (
                only is not None and not only(schema, table.name)
            ):
                continue
            tables.append(table)
            if only is None:
                every_name.append(table.qualified_name)
    return tuple(tables), tuple(every_name)


def _schema_tables(
    inspector: Any, schema: str | None, names: list[str] | None, type_text: _TypeText
) -> list[TableFact]:
    """The tables of ``schema`` (all, or ``names``) with their columns and indexes, in name
    order."""
    in_one_query = _sqlite_in_one_query(inspector) if schema is None else None
    if in_one_query is not None:
        columns, indexes = in_one_query
    else:
        columns = reflected_in_bulk(inspector, "columns", schema, names)
        indexes = reflected_in_bulk(inspector, "indexes", schema, names)
    return [
        TableFact(
            name=name,
            schema=schema,
            columns=tuple(_column(row, type_text) for row in column_rows),
            index_facts=tuple(
                _index(index) for index in indexes.get((schema, name), ()) if index.get("name")
            ),
        )
        for (_, name), column_rows in sorted(columns.items(), key=lambda item: item[0][1])
    ]


def _kept_reading(inspector: Any, kept: KeptReadings, type_text: _TypeText) -> Sequence[TableFact]:
    """The default schema's tables as :func:`_schema_tables` reads them, kept under the live
    schema's key (read without reflecting), so that an unchanged schema is not reflected
    again; read (and kept) where there is no such reading yet, or no key."""
    key = live_schema_key(inspector, "tables", TableFact)
    reading = None if key is None else kept.get_pickled(key)
    if isinstance(reading, tuple) and all(isinstance(t, TableFact) for t in reading):
        return reading
    read = _schema_tables(inspector, None, None, type_text)
    if key is not None:
        kept.put_pickled(key, tuple(read))
    return read


# SQLite: every table's columns (table_xinfo, which shows generated columns too) and indexes
# (with their columns in order: an expression's is NULL), each in one query over sqlite_master,
# where SQLAlchemy sends PRAGMAs per table and per index
_SQLITE_COLUMNS = (
    'select m.name, p.name, p.type, p."notnull", p.dflt_value, p.pk, p.hidden '
    "from sqlite_master m join pragma_table_xinfo(m.name) p "
    "where m.type = 'table' and m.name not like 'sqlite~_%' escape '~' order by m.name, p.cid"
)
_SQLITE_INDEXES = (
    'select m.name, i.name, i."unique", c.name from sqlite_master m '
    "join pragma_index_list(m.name) i left join pragma_index_info(i.name) c "
    "where m.type = 'table' and m.name not like 'sqlite~_%' escape '~' "
    "and i.name not like 'sqlite~_autoindex%' escape '~' order by m.name, i.name, c.seqno"
)


def _sqlite_in_one_query(inspector: Any) -> tuple[dict[Any, Any], dict[Any, Any]] | None:
    """The columns and index names of every table of a SQLite database's main schema, as
    ``get_multi_columns``/``get_multi_indexes`` give them (the dialect's own column reading
    builds each column), in one query each; None where that cannot be done as exactly (not
    SQLite, a SQLite before 3.31 without table_xinfo, a generated column, which SQLAlchemy reads
    from the table's SQL): the caller then reflects as SQLAlchemy does."""
    dialect = inspector.dialect
    if dialect.name != "sqlite" or tuple(dialect.server_version_info or ()) < (3, 31):
        return None
    connection = inspector.bind
    try:
        column_rows = connection.exec_driver_sql(_SQLITE_COLUMNS).all()
        index_rows = connection.exec_driver_sql(_SQLITE_INDEXES).all()
    except Exception:  # noqa: BLE001 - a SQLite without table-valued pragmas: as SQLAlchemy does
        return None
    columns: dict[Any, list[dict[str, Any]]] = {}
    for table, name, type_, notnull, default, primary_key, hidden in column_rows:
        if hidden == 1:
            continue  # a hidden column of a virtual table: SQLAlchemy leaves it out
        if hidden:
            return None  # generated: read from the table's SQL, as SQLAlchemy does
        column = dialect._get_column_info(
            name, str(type_).upper(), not notnull, default, primary_key, False, False, None
        )
        columns.setdefault((None, table), []).append(column)
    indexes: dict[Any, list[dict[str, Any]]] = {}
    for table, name, unique, column in index_rows:
        listed = indexes.setdefault((None, table), [])
        if not listed or listed[-1]["name"] != name:
            listed.append({"name": name, "unique": bool(unique), "column_names": []})
        listed[-1]["column_names"].append(column)
    return columns, indexes


def _table_names(inspector: Any, schema: str | None) -> list[str]:
    """The tables ``get_multi_columns`` reflects (its default kind): ``get_table_names``, and
    on PostgreSQL foreign tables too."""
    names = list(inspector.get_table_names(schema=schema))
    if inspector.dialect.name == "postgresql":
        names += inspector.get_foreign_table_names(schema=schema)
    return names


def _index(row: dict[str, Any]) -> IndexFact:
    return IndexFact(
        name=str(row["name"]),
        columns=tuple(
            None if column is None else str(column) for column in row.get("column_names") or ()
        ),
        unique=bool(row.get("unique")),
    )


def _column(row: dict[str, Any], type_text: _TypeText) -> ColumnFact:
    try:
        words = type_text(row["type"])
    except Exception:  # noqa: BLE001 - a type that cannot compile is still a column
        words = type(row["type"]).__name__
    return ColumnFact(
        name=row["name"],
        type=words,
        nullable=bool(row.get("nullable", True)),
        type_object=row["type"],
    )


class _TypeText:
    """A type's words, as ``str(type)`` gives them, with one compiling dialect per kind of
    type: ``str`` makes a new dialect for every column, most of the cost of reading one."""

    def __init__(self) -> None:
        self._compilers: dict[type, Any] = {}

    def __call__(self, type_: Any) -> str:
        from sqlalchemy.types import TypeEngine

        kind: Any = type(type_)
        if kind.__str__ is not TypeEngine.__str__ or kind.compile is not TypeEngine.compile:
            return str(type_)  # a type with words of its own
        compiler = self._compilers.get(kind)
        if compiler is None:
            # what TypeEngine.compile() does without a dialect
            compiler = self._compilers[kind] = type_._default_dialect().type_compiler_instance
        return str(compiler.process(type_))


# what alembic's comparison reflects of each table, each under the key alembic keeps it in the
# inspector's cache (alembic.autogenerate.compare.util._INSP_KEYS)
ALEMBIC_REFLECTION_KINDS = (
    "columns",
    "pk_constraint",
    "foreign_keys",
    "indexes",
    "unique_constraints",
    "table_comment",
    "check_constraints",
    "table_options",
)


def reflected_in_bulk(
    inspector: Any, kind: str, schema: str | None = None, names: list[str] | None = None
) -> Any:
    """``inspector.get_multi_<kind>``: one query (or a few) for every table of ``schema``, or
    for ``names``. Every table of the default schema is read once per inspector and kept where
    alembic's comparison looks first (its ``pre_cache_tables`` then reads nothing again), so
    the checks' reading and every comparison through this inspector share it."""
    if schema is not None or names is not None:
        return getattr(inspector, f"get_multi_{kind}")(schema=schema, filter_names=names)
    key = f"alembic_{kind}"
    if key not in inspector.info_cache:
        try:
            inspector.info_cache[key] = getattr(inspector, f"get_multi_{kind}")(schema=None)
        except NotImplementedError:
            inspector.info_cache[key] = NotImplementedError  # as alembic marks it
    reflected = inspector.info_cache[key]
    if reflected is NotImplementedError:
        raise NotImplementedError(f"get_multi_{kind}")
    return reflected


def reflect_for_comparison(inspector: Any) -> None:
    """Reflect every table of the default schema in bulk, once per kind alembic's comparison
    reads (:func:`reflected_in_bulk`), unless it is already held."""
    for kind in ALEMBIC_REFLECTION_KINDS:
        try:
            reflected_in_bulk(inspector, kind)
        except NotImplementedError:
            continue
