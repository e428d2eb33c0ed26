"""Record what a revision's ``upgrade()`` would do by running it against a recorder.

The function runs with ``alembic.op`` bound to an ``Operations`` whose ``invoke`` keeps each
``MigrateOperation`` instead of executing it, over an offline (``as_sql``) migration context, so
``op.get_bind()`` is a mock that reaches no database. As a second guard, any SQL that the code
sends through a real SQLAlchemy connection while it is recorded is refused. When a revision
cannot be imported or run, its literal operations are read from the source instead.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migdoctor.operations.model import RECORDED, Operation, RevisionOperations
from migdoctor.operations.static import read_operations_statically
from migdoctor.project.scripts import RevisionScript, describe_exception, load_module

if TYPE_CHECKING:
    from alembic.operations import MigrateOperation
    from sqlalchemy.engine import Dialect


class _LiveSQLRefused(Exception):
    """upgrade() tried to run SQL on a real connection while being recorded."""


class CannotRecord(Exception):
    """The revision's ``upgrade()`` cannot be recorded (the message says why)."""


def record_upgrades(
    scripts: list[RevisionScript], dialect: Dialect
) -> dict[str, RevisionOperations]:
    """What each revision's ``upgrade()`` would do on ``dialect``, keyed by revision id."""
    return {script.revision: record_upgrade(script, dialect) for script in scripts}


def record_upgrade(script: RevisionScript, dialect: Dialect) -> RevisionOperations:
    try:
        module = load_module(script.path)
    except BaseException as error:  # a user's file may raise anything, even SystemExit
        if isinstance(error, KeyboardInterrupt):
            raise
        why = f"the file could not be imported ({describe_exception(error)})"
        return read_operations_statically(script.path, script.revision, why)
    upgrade = getattr(module, "upgrade", None)
    if not callable(upgrade):
        return RevisionOperations(script.revision, (), RECORDED, "the file has no upgrade()")

    try:
        recorded = _record(upgrade, dialect)
    except CannotRecord as why:
        return read_operations_statically(script.path, script.revision, str(why))
    return RevisionOperations(script.revision, tuple(_operation_facts(recorded)), RECORDED)


def record_migrate_operations(path: Path, dialect: Dialect) -> list[MigrateOperation]:
    """The ``MigrateOperation`` objects the ``upgrade()`` of the file at ``path`` creates, in
    order, for a repair that runs some of them through a real ``Operations``. Raises
    CannotRecord when the file cannot be imported or its ``upgrade()`` cannot be recorded."""
    try:
        module = load_module(path)
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            raise
        raise CannotRecord(
            f"the file could not be imported ({describe_exception(error)})"
        ) from None
    upgrade = getattr(module, "upgrade", None)
    if not callable(upgrade):
        raise CannotRecord("the file has no upgrade()")
    return _record(upgrade, dialect)


def record_downgrade(path: Path, dialect: Dialect) -> tuple[Operation, ...]:
    """What the ``downgrade()`` of the file at ``path`` would do on ``dialect``, recorded as an
    ``upgrade()`` is (nothing runs). Raises CannotRecord when it cannot be told."""
    try:
        module = load_module(path)
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            raise
        raise CannotRecord(
            f"the file could not be imported ({describe_exception(error)})"
        ) from None
    downgrade = getattr(module, "downgrade", None)
    if not callable(downgrade):
        return ()
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.INFO)  # alembic's "Context impl" lines are noise here
    try:
        return tuple(_operation_facts(_record(downgrade, dialect, "downgrade()")))
    finally:
        logging.disable(previous)


def _record(function: Any, dialect: Dialect, name: str = "upgrade()") -> list[MigrateOperation]:
    recorded: list[MigrateOperation] = []
    try:
        with _recording_operations(dialect, recorded), _live_sql_refused():
            function()
    except _LiveSQLRefused:
        raise CannotRecord(
            f"{name} runs SQL through its own connection, which migdoctor does not run"
        ) from None
    except BaseException as error:  # so may its upgrade()
        if isinstance(error, KeyboardInterrupt):
            raise
        raise CannotRecord(f"{name} could not be recorded ({describe_exception(error)})") from None
    return recorded


@contextmanager
def _recording_operations(dialect: Dialect, recorded: list[Any]) -> Iterator[None]:
    """Bind ``alembic.op`` to a recorder for the duration, then restore what was bound."""
    from alembic import op as op_module
    from alembic.operations import Operations
    from alembic.operations.base import BatchOperations
    from alembic.operations.batch import BatchOperationsImpl
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(
        dialect=dialect,
        opts={"as_sql": True, "output_buffer": io.StringIO(), "literal_binds": True},
    )
    operations = Operations(context)

    def record(operation: Any) -> Any:
        recorded.append(operation)
        # code that keeps create_table()'s result (for bulk_insert) gets a real Table
        to_table = getattr(operation, "to_table", None)
        if operation.__class__.__name__ == "CreateTableOp" and to_table is not None:
            return to_table(context)
        return None

    @contextmanager
    def batch_alter_table(table_name: str, schema: str | None = None, **kw: Any) -> Iterator[Any]:
        impl = BatchOperationsImpl(  # type: ignore[no-untyped-call]
            operations,
            table_name,
            schema,
            kw.get("recreate", "auto"),
            None,
            (),
            {},
            (),
            {},
            None,
            None,
        )
        batch = BatchOperations(context, impl=impl)
        batch.invoke = record  # type: ignore[method-assign]
        yield batch  # no flush: nothing is executed

    operations.invoke = record  # type: ignore[method-assign]
    operations.batch_alter_table = batch_alter_table  # type: ignore[method-assign, assignment]
    previous = getattr(op_module, "_proxy", None)
    operations._install_proxy()
    try:
        yield
    finally:
        if previous is not None:
            previous._install_proxy()
        else:
            operations._remove_proxy()


@contextmanager
def _live_sql_refused() -> Iterator[None]:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise _LiveSQLRefused()

    event.listen(Engine, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        event.remove(Engine, "before_cursor_execute", refuse)


def _operation_facts(recorded: list[Any]) -> Iterator[Operation]:
    for operation in recorded:
        yield operation_fact(operation)


def operation_fact(operation: Any) -> Operation:
    """alembic's ``MigrateOperation`` as migdoctor's plain ``Operation``."""
    from alembic.operations import ops
    from sqlalchemy import Column

    schema = getattr(operation, "schema", None)
    if isinstance(operation, ops.CreateTableOp):
        columns = tuple(c.name for c in operation.columns if isinstance(c, Column))
        return Operation("create_table", operation.table_name, schema, columns)
    if isinstance(operation, ops.DropTableOp):
        return Operation("drop_table", operation.table_name, schema)
    if isinstance(operation, ops.RenameTableOp):
        return Operation(
            "rename_table", operation.table_name, schema, name=operation.new_table_name
        )
    if isinstance(operation, ops.AddColumnOp):
        return Operation("add_column", operation.table_name, schema, (operation.column.name,))
    if isinstance(operation, ops.DropColumnOp):
        return Operation("drop_column", operation.table_name, schema, (operation.column_name,))
    if isinstance(operation, ops.AlterColumnOp):
        return Operation(
            "alter_column",
            operation.table_name,
            schema,
            (operation.column_name,),
            name=operation.modify_name,
        )
    if isinstance(operation, ops.CreateIndexOp):
        columns = tuple(_expression_name(c) for c in operation.columns)
        return Operation(
            "create_index", operation.table_name, schema, columns, _name(operation.index_name)
        )
    if isinstance(operation, ops.DropIndexOp):
        return Operation(
            "drop_index", operation.table_name, schema, name=_name(operation.index_name)
        )
    if isinstance(operation, ops.DropConstraintOp):
        return Operation(
            "drop_constraint", operation.table_name, schema, name=_name(operation.constraint_name)
        )
    if isinstance(operation, ops.AddConstraintOp):
        kind = {
            "CreateForeignKeyOp": "create_foreign_key",
            "CreatePrimaryKeyOp": "create_primary_key",
            "CreateUniqueConstraintOp": "create_unique_constraint",
            "CreateCheckConstraintOp": "create_check_constraint",
        }.get(type(operation).__name__, "add_constraint")
        table = getattr(operation, "table_name", None) or getattr(operation, "source_table", None)
        columns = tuple(
            str(c)
            for c in (
                getattr(operation, "columns", None) or getattr(operation, "local_cols", None) or ()
            )
        )
        return Operation(
            kind, table, schema, columns, _name(getattr(operation, "constraint_name", None))
        )
    if isinstance(operation, ops.ExecuteSQLOp):
        return Operation("execute", detail=_sql_text(operation.sqltext))
    if isinstance(operation, ops.BulkInsertOp):
        return Operation("bulk_insert", getattr(operation.table, "name", None), schema)
    table = getattr(operation, "table_name", None)
    name = type(operation).__name__.removesuffix("Op")
    return Operation(_snake(name), table, schema)


def _name(name: Any) -> str | None:
    return None if name is None else str(name)


def _expression_name(expression: Any) -> str:
    return (
        expression if isinstance(expression, str) else str(getattr(expression, "name", expression))
    )


def _sql_text(sqltext: Any) -> str:
    text = sqltext if isinstance(sqltext, str) else str(getattr(sqltext, "text", sqltext))
    text = " ".join(text.split())
    return text if len(text) <= 120 else text[:117] + "..."


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
