"""Compare the live schema with the models, as ``alembic revision --autogenerate`` would.

Called inside the capture, while env.py's connection is live: alembic's own
``compare_metadata`` runs with the migration context env.py configured, so the project's
``include_object``, ``include_name``, ``include_schemas``, ``compare_type`` and
``compare_server_default`` settings decide what counts as a difference, exactly as they do for
autogenerate. The differences are frozen into words at once; nothing of SQLAlchemy's schema
objects leaves this module.

The comparison runs only when it means something: the database is at the head revision(s) (a
database that is behind differs from the models by the pending revisions) and env.py's
``target_metadata`` holds tables (no-target-metadata reports the other cases).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from migdoctor.database.bounds import gave_up_waiting
from migdoctor.errors import describe_exception
from migdoctor.facts.model import SchemaDifference, SchemaDriftFacts
from migdoctor.project.graph import RevisionGraph
from migdoctor.quiet import logging_held_back

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.engine import Dialect, Inspector

    from migdoctor.database.drift_cache import Compared, ComparisonCache

MODELS = "the models"


def read_schema_drift(
    context: MigrationContext,
    graph: RevisionGraph,
    rows: Sequence[str],
    inspector: Inspector | None = None,
    cache: ComparisonCache | None = None,
) -> SchemaDriftFacts | None:
    """How the live schema differs from ``target_metadata``; None when not compared. With
    ``inspector``, the schema is reflected through it in bulk, and with ``cache`` too the last
    answer is reused while nothing the comparison reads has changed (``drift_cache``)."""
    if not rows or any(row not in graph for row in rows) or graph.pending(rows):
        return None
    metadata = context.opts.get("target_metadata")
    collections = metadata if isinstance(metadata, (list, tuple)) else [metadata]
    if not any(getattr(collection, "tables", None) for collection in collections):
        return None
    try:
        differences = tuple(
            difference for difference, _ in compared(context, metadata, inspector, cache)
        )
    except Exception as error:
        if gave_up_waiting(error):  # a lock in the way is the run's failure, not a drift fact
            raise
        return SchemaDriftFacts(differences=(), error=describe_exception(error))
    return SchemaDriftFacts(differences=differences)


def compared(
    context: MigrationContext,
    metadata: Any,
    inspector: Inspector | None = None,
    cache: ComparisonCache | None = None,
    expected: str = MODELS,
    metadata_key: str | None = None,
) -> list[Compared]:
    """alembic's comparison of the live schema with ``metadata``, in words (``expected`` names
    the metadata's side), each difference with the (schema, table) it is about. With
    ``inspector``, the schema is reflected through it in bulk once for every comparison; with
    ``cache`` too, an answer is reused while nothing the comparison reads has changed
    (:mod:`migdoctor.database.drift_cache`). ``metadata`` may be a function that builds it,
    called only when the comparison runs, with ``metadata_key`` identifying it meanwhile."""
    key = None
    if inspector is not None:
        from migdoctor.database.schema import reflect_for_comparison

        if cache is not None:
            from migdoctor.database.drift_cache import comparison_key

            if metadata_key is None and callable(metadata):
                metadata = metadata()
            key = comparison_key(context, metadata, inspector, expected, metadata_key)
            answer = None if key is None else cache.get(key)
            if answer is not None:
                return answer
        reflect_for_comparison(inspector)
    if callable(metadata):
        metadata = metadata()
    diffs = alembic_diffs(context, metadata, inspector)
    words = describe_diffs(diffs, expected, context.dialect)
    answer = list(zip(words, flattened_tables(diffs), strict=True))
    if cache is not None and key is not None:
        cache.put(key, answer)
    return answer


def alembic_diffs(
    context: MigrationContext, metadata: Any, inspector: Inspector | None = None
) -> list[Any]:
    """alembic's ``compare_metadata``: the live schema against ``metadata`` (a MetaData or a
    list of them, as env.py may pass), with env.py's settings. With ``inspector``, alembic
    reflects through it, so what it already holds (the bulk reflection of the capture, an
    earlier comparison's) is not read again."""
    from alembic.autogenerate import compare as alembic_compare
    from alembic.autogenerate.api import AutogenContext
    from alembic.operations import ops

    autogen = AutogenContext(context, metadata=metadata)
    if inspector is not None:
        autogen.inspector = inspector
    script = ops.MigrationScript(
        rev_id=None, upgrade_ops=ops.UpgradeOps([]), downgrade_ops=ops.DowngradeOps([])
    )
    # what alembic logs about its own comparison ("Generating approximate signature for
    # index", MLflow's expression index) is not a finding: the differences are the answer
    with logging_held_back(logging.WARNING):
        alembic_compare._populate_migration_script(autogen, script)
    assert script.upgrade_ops is not None
    return list(script.upgrade_ops.as_diffs())


def describe_diffs(
    diffs: Sequence[Any], expected: str = MODELS, dialect: Dialect | None = None
) -> Iterator[SchemaDifference]:
    """alembic's diff tuples (a list groups the changes of one column) in words; ``expected``
    names the side the database is compared with; its types are written as ``dialect`` (the
    database's) would create them."""
    for diff in diffs:
        if isinstance(diff, list):
            yield from describe_diffs(diff, expected, dialect)
        else:
            yield _difference(diff, expected, dialect)


def _difference(diff: tuple[Any, ...], expected: str, dialect: Dialect | None) -> SchemaDifference:
    in_expected_only = f"is in {expected} but not in the database"
    in_database_only = f"is in the database but not in {expected}"
    operation = str(diff[0])
    if operation in ("add_table", "remove_table"):
        table = diff[1]
        where = in_expected_only if operation == "add_table" else in_database_only
        return SchemaDifference(
            operation, _table_name(table), "", f"table {_table_name(table)} {where}"
        )
    if operation in ("add_column", "remove_column"):
        _, schema, table_name, column = diff
        table = _qualified(schema, table_name)
        where = in_expected_only if operation == "add_column" else in_database_only
        # a reflected type is already the database's own (MariaDB's INTEGER(11) stays INTEGER)
        side = dialect if operation == "add_column" else None
        return SchemaDifference(
            operation,
            table,
            column.name,
            f"column {table}.{column.name} ({type_words(column.type, side)}) {where}",
        )
    if operation in ("add_index", "remove_index"):
        index = diff[1]
        table = _table_name(index.table) if index.table is not None else ""
        columns = ", ".join(_expression(e) for e in index.expressions)
        # MLflow (mlflow/mlflow) declares Index("index_trace_tags_request_id") with no column
        on_what = f"on {table} ({columns})" if columns else f"on {table} with no column"
        unique = "unique index" if index.unique else "index"
        where = in_expected_only if operation == "add_index" else in_database_only
        return SchemaDifference(
            operation, table, str(index.name or ""), f"{unique} {index.name} {on_what} {where}"
        )
    if operation in ("add_constraint", "remove_constraint", "add_fk", "remove_fk"):
        constraint = diff[1]
        table = _table_name(constraint.table) if constraint.table is not None else ""
        where = in_expected_only if operation.startswith("add") else in_database_only
        name = str(constraint.name) if constraint.name else ""
        return SchemaDifference(
            operation,
            table,
            name,
            f"{_constraint_words(constraint, table)} {where}",
            refers_to=_referred_table(constraint),
        )
    if operation.startswith("modify_"):
        _, schema, table_name, column_name, _info, in_database, in_models = diff
        table = _qualified(schema, table_name)
        what = operation.removeprefix("modify_").replace("_", " ")
        if operation == "modify_type":
            values = (
                f"{type_words(in_database)} in the database, "
                f"{type_words(in_models, dialect)} in {expected}"
            )
        elif operation == "modify_nullable":
            values = (
                f"{_nullable(in_database)} in the database, {_nullable(in_models)} in {expected}"
            )
        else:
            values = f"{_value(in_database)} in the database, {_value(in_models)} in {expected}"
        return SchemaDifference(
            operation, table, column_name, f"column {table}.{column_name}: {what} {values}"
        )
    if operation in ("add_table_comment", "remove_table_comment"):
        table = _table_name(diff[1])
        return SchemaDifference(operation, table, "", f"the comment of table {table} differs")
    table = next((_table_name(part) for part in diff[1:] if hasattr(part, "fullname")), "")
    return SchemaDifference(operation, table, "", f"{operation.replace('_', ' ')} {table}".strip())


def _qualified(schema: str | None, name: str) -> str:
    return f"{schema}.{name}" if schema else name


def _table_name(table: Any) -> str:
    return str(getattr(table, "fullname", table))


def type_words(type_: Any, dialect: Dialect | None = None) -> str:
    """A column type as a report shows it (the roundtrip's snapshots too): as ``dialect``
    creates it, when given (for the models' side; a reflected type is already the database's).

    MLflow (mlflow/mlflow) on MariaDB: its models' ``Float(precision=53)``, compiled without a
    dialect, read "FLOAT" beside the database's DOUBLE, as if the models wanted a
    single-precision column; MySQL creates it as ``FLOAT(53)``, which it stores as DOUBLE."""
    enums = getattr(type_, "enums", None)
    if enums:
        # an enumeration by its values: compiled without a dialect it is a VARCHAR, and two
        # of them differing only in their values would read alike
        return f"{type(type_).__name__}({', '.join(repr(value) for value in enums)})"
    if dialect is not None:
        try:
            return str(type_.compile(dialect=dialect))
        except Exception:  # noqa: BLE001 - a type this dialect cannot create: as SQLAlchemy words it
            pass
    try:
        return str(type_)
    except Exception:  # noqa: BLE001 - a type that cannot compile without a dialect
        return type(type_).__name__


def _nullable(nullable: Any) -> str:
    return "NULL" if nullable else "NOT NULL"


def _value(value: Any) -> str:
    if value is None or value is False:
        return "none"
    text = getattr(value, "arg", value)
    return str(getattr(text, "text", text))


def _expression(expression: Any) -> str:
    return str(getattr(expression, "name", expression))


def _referred_table(constraint: Any) -> str:
    """The table a foreign key points at, read from its target's name (never resolved: the
    table may be missing from the metadata); "" for another constraint."""
    if constraint.__visit_name__ != "foreign_key_constraint" or not constraint.elements:
        return ""
    return str(constraint.elements[0].target_fullname).rpartition(".")[0]


def _constraint_words(constraint: Any, table: str) -> str:
    columns = ", ".join(column.name for column in getattr(constraint, "columns", ()))
    name = f" {constraint.name}" if constraint.name else ""
    if constraint.__visit_name__ == "foreign_key_constraint":
        referred = constraint.referred_table.fullname if constraint.elements else "?"
        # full-stack-fastapi-template (github.com/fastapi/full-stack-fastapi-template): a key
        # that differs only in ON DELETE CASCADE read as the same key on both sides
        actions = "".join(
            f" ON {event} {str(action).upper()}"
            for event, action in (("DELETE", constraint.ondelete), ("UPDATE", constraint.onupdate))
            if action
        )
        return f"foreign key{name} {table}({columns}) → {referred}{actions}"
    kind = str(constraint.__visit_name__).replace("_", " ")
    return f"{kind}{name} on {table} ({columns})"


def flattened_tables(diffs: Sequence[Any]) -> Iterator[tuple[str | None, str]]:
    """The (schema, table) each diff is about, in the order ``describe_diffs`` yields them."""
    for diff in diffs:
        if isinstance(diff, list):
            yield from flattened_tables(diff)
            continue
        operation = str(diff[0])
        if operation in ("add_table", "remove_table"):
            yield (diff[1].schema, diff[1].name)
        elif operation in ("add_column", "remove_column") or operation.startswith("modify_"):
            yield (diff[1], diff[2])
        else:
            table = next((part for part in diff[1:] if hasattr(part, "fullname")), None)
            if table is None:
                table = getattr(diff[1], "table", None)
            yield (getattr(table, "schema", None), str(getattr(table, "name", "")))
