"""The schema at a revision: the recorded operations of its history replayed, table by table.

Each revision's ``upgrade()`` was recorded as alembic ``MigrateOperation`` objects (see
``recorder``). Applying them, oldest first, to an empty schema gives the schema the history
describes at any revision: tables, columns with their types, nullability and server defaults,
indexes, and unique, foreign-key and check constraints, with renames and drops followed.
alembic's own comparison (``compare_metadata``) then measures a live database against it
(``ReplayedSchema.to_metadata``).

Tables are never changed in place: an operation replaces the table it touches by a new one
(:mod:`migdoctor.operations.table_rebuild`). A copy of the whole schema is then a copy of a
dictionary, so the schema of every revision of a branched history costs what one replay costs.

What cannot be known is never guessed: a table that schema-changing raw SQL (``op.execute``)
names, a table of a revision read only statically (every table, when not all of that revision
could be read), or one an operation migdoctor does not understand touches, is marked
*uncertain*, and comparisons leave it out rather than calling it different.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migdoctor.facts.operations import Operation, RevisionOperations
from migdoctor.operations.constraint_names import constraint_called
from migdoctor.operations.recording_context import NAMING_CONVENTION
from migdoctor.operations.table_rebuild import rebuild

if TYPE_CHECKING:
    from sqlalchemy import Column, MetaData, Table

TableKey = tuple[str | None, str]

_SQL_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
# statements that change rows or sessions, never the shape of a table
_DATA_STATEMENTS = frozenset(
    {
        "insert",
        "update",
        "delete",
        "select",
        "merge",
        "with",
        "set",
        "truncate",
        "analyze",
        "vacuum",
        "grant",
        "revoke",
        "lock",
        "replace",
        "copy",
        "begin",
        "commit",
    }
)
_TABLE_STATEMENT = re.compile(
    r"\b(?:create|alter|drop|rename)\s+table\s+(?:if\s+(?:not\s+)?exists\s+)?"
    r"[`\"\[]?([A-Za-z_][\w$]*)[`\"\]]?(?:\.[`\"\[]?([A-Za-z_][\w$]*))?",
    re.IGNORECASE,
)


@dataclass
class ReplayedSchema:
    """The schema a history describes, built one operation at a time.

    ``tables`` maps (schema, name) to a table that is never modified; ``uncertain`` holds the
    tables whose shape cannot be known from the recorded operations; ``touched`` the tables
    changed since it was last emptied (for measuring revision by revision).
    """

    tables: dict[TableKey, Table] = field(default_factory=dict)
    uncertain: set[TableKey] = field(default_factory=set)
    touched: set[TableKey] = field(default_factory=set)
    # MySQL and MariaDB: alembic's alter_column is a MODIFY (or CHANGE) that states the whole
    # column again from the operation's existing_* arguments (see ``_alter_column``)
    alter_restates_column: bool = False

    def copy(self) -> ReplayedSchema:
        return ReplayedSchema(
            dict(self.tables), set(self.uncertain), set(), self.alter_restates_column
        )

    def table(self, schema: str | None, name: str) -> Table | None:
        return self.tables.get((schema, name))

    def to_metadata(self) -> MetaData:
        """One ``MetaData`` holding a copy of every table (foreign keys resolved across them)."""
        from sqlalchemy import MetaData

        metadata = MetaData()
        for table in self.tables.values():
            table.to_metadata(metadata)
        for table in list(metadata.tables.values()):
            for constraint in list(table.foreign_key_constraints):
                targets = {
                    element._get_colspec().rpartition(".")[0] for element in constraint.elements
                }
                if not targets <= set(metadata.tables):
                    # a foreign key to a table the history no longer has (or never had), or
                    # cannot know (mealie's: the tables of revisions read from their source);
                    # the table's own set of them too, from which SQLAlchemy sorts the tables
                    table.constraints.discard(constraint)
                    for element in constraint.elements:
                        element.parent.foreign_keys.discard(element)
                        table.foreign_keys.discard(element)
        return metadata

    def replay(self, revisions: Iterable[RevisionOperations]) -> ReplayedSchema:
        for recorded in revisions:
            self.apply_revision(recorded)
        return self

    def apply_revision(self, recorded: RevisionOperations) -> None:
        if recorded.migrate_operations is None:
            # read statically (the file could not be run): names without types
            for operation in recorded.operations:
                self._apply_fact(operation)
            self._unread(recorded)
            return
        for migrate_operation in recorded.migrate_operations:
            try:
                self._apply(migrate_operation)
            except Exception:  # noqa: BLE001 - an odd operation must not stop the replay
                # what it did is unknown: never guessed, never silently dropped
                table = getattr(migrate_operation, "table_name", None) or getattr(
                    migrate_operation, "source_table", None
                )
                if table:
                    self._uncertain(getattr(migrate_operation, "schema", None), table)
        for schema, name in recorded.uncertain_tables:
            self._uncertain(schema, name)
        self._unread(recorded)

    def _unread(self, recorded: RevisionOperations) -> None:
        """A revision not all of whose source could be read may have touched any table (MLflow
        adds columns in a loop over the tables a helper names): no table is known after it
        until a revision creates it again."""
        if recorded.unread:
            for schema, name in list(self.tables):
                self._uncertain(schema, name)

    # -- operations ------------------------------------------------------------------------------

    def _apply(self, operation: Any) -> None:
        from alembic.operations import ops

        schema = getattr(operation, "schema", None)
        if isinstance(operation, ops.CreateTableOp):
            self._create_table(operation)
        elif isinstance(operation, ops.DropTableOp):
            self._set(schema, operation.table_name, None)
        elif isinstance(operation, ops.RenameTableOp):
            self._rename_table(schema, operation.table_name, operation.new_table_name)
        elif isinstance(operation, ops.AddColumnOp):
            self._add_column(
                schema,
                operation.table_name,
                operation.column,
                getattr(operation, NAMING_CONVENTION, None),
            )
        elif isinstance(operation, ops.DropColumnOp):
            self._change(
                schema, operation.table_name, drop_columns=frozenset({operation.column_name})
            )
        elif isinstance(operation, ops.AlterColumnOp):
            self._alter_column(operation)
        elif isinstance(operation, ops.CreateIndexOp):
            self._create_index(operation)
        elif isinstance(operation, ops.DropIndexOp):
            self._drop_index(schema, operation.table_name, str(operation.index_name))
        elif isinstance(operation, ops.AddConstraintOp):
            self._add_constraint(operation)
        elif isinstance(operation, ops.DropConstraintOp):
            self._drop_constraint(schema, operation.table_name, operation.constraint_name)
        elif isinstance(operation, ops.ExecuteSQLOp):
            self._execute(operation)
        elif isinstance(operation, ops.BulkInsertOp) or "Comment" in type(operation).__name__:
            return  # data and comments: nothing the comparison weighs
        elif getattr(operation, "table_name", None):
            # an operation migdoctor does not know (a custom or third-party op)
            self._uncertain(schema, operation.table_name)

    def _set(self, schema: str | None, name: str, table: Table | None) -> None:
        key = (schema, name)
        self.touched.add(key)
        if table is None:
            self.tables.pop(key, None)
        else:
            self.tables[key] = table

    def _create_table(self, operation: Any) -> None:
        from sqlalchemy import Table

        schema, name = operation.schema, operation.table_name
        self.uncertain.discard((schema, name))
        # while recording, create_table() already built its Table (its columns belong to it);
        # building another from the same columns would lose their foreign keys
        built = next(
            (
                column.table
                for column in operation.columns
                if isinstance(getattr(column, "table", None), Table)
            ),
            None,
        )
        self._set(schema, name, built if built is not None else operation.to_table())

    def _rename_table(self, schema: str | None, old: str, new: str) -> None:
        table = self.table(schema, old)
        was_uncertain = (schema, old) in self.uncertain
        self._set(schema, old, None)
        self.uncertain.discard((schema, old))
        if table is None or was_uncertain:
            self._uncertain(schema, new)
            return
        self._set(schema, new, rebuild(table, name=new))
        # foreign keys of other tables follow the table to its new name, as the database's do
        old_target = f"{schema}.{old}" if schema else old
        new_target = f"{schema}.{new}" if schema else new
        for key, other in list(self.tables.items()):
            if any(
                element._get_colspec().rpartition(".")[0] == old_target
                for constraint in other.foreign_key_constraints
                for element in constraint.elements
            ):
                self._set(key[0], key[1], rebuild(other, retarget={old_target: new_target}))

    def _change(self, schema: str | None, name: str, **changes: Any) -> None:
        """Replace the table by a copy with ``changes`` (see ``rebuild``)."""
        table = self.table(schema, name)
        if table is None:
            self._uncertain(schema, name)
            return
        self._set(schema, name, rebuild(table, **changes))

    def _add_column(
        self,
        schema: str | None,
        name: str,
        column: Column[Any],
        naming_convention: dict[str, Any] | None = None,
    ) -> None:
        from sqlalchemy import ForeignKeyConstraint, UniqueConstraint

        # what alembic adds after the column: its foreign keys, and its unique constraint
        # (``unique=True`` without ``index=True``, which makes an index instead)
        unique = (UniqueConstraint(column.name),) if column.unique and not column.index else ()
        foreign_keys = tuple(
            ForeignKeyConstraint(
                [column.name],
                [foreign_key._colspec],
                name=foreign_key.name,
                ondelete=foreign_key.ondelete,
                onupdate=foreign_key.onupdate,
            )
            for foreign_key in column.foreign_keys
        )
        self._change(
            schema,
            name,
            add_columns=(column,),
            add_constraints=foreign_keys + unique,
            add_indexes=_column_index(name, schema, column, naming_convention),
        )

    def _alter_column(self, operation: Any) -> None:
        from sqlalchemy import Column

        schema, name = operation.schema, operation.table_name
        table = self.table(schema, name)
        if table is None or operation.column_name not in table.columns:
            self._uncertain(schema, name)
            return
        old = table.columns[operation.column_name]
        type_ = operation.modify_type if operation.modify_type is not None else old.type
        nullable = old.nullable if operation.modify_nullable is None else operation.modify_nullable
        server_default: Any = old.server_default
        if operation.modify_server_default is not False:
            server_default = _server_default(operation.modify_server_default)
        if self.alter_restates_column and _restates_column(operation):
            # what alembic's MySQL implementation sends: the column as the operation states
            # it, whatever it was (a column altered without existing_type=ENUM(...) becomes a
            # VARCHAR, one without existing_nullable=False becomes NULL, one without
            # existing_server_default loses its default)
            if operation.modify_type is None and operation.existing_type is not None:
                type_ = operation.existing_type
            if operation.modify_nullable is None and not old.primary_key:
                nullable = operation.existing_nullable is not False
            if operation.modify_server_default is False:
                existing = operation.existing_server_default
                server_default = _server_default(None if existing is False else existing)
        replacement = Column(
            operation.modify_name or old.name,
            type_,
            primary_key=old.primary_key,
            nullable=nullable,
            server_default=server_default,
            autoincrement=old.autoincrement,
            comment=old.comment,
        )
        self._set(schema, name, rebuild(table, replace_column=(old.name, replacement)))

    def _create_index(self, operation: Any) -> None:
        schema, name = operation.schema, operation.table_name
        table = self.table(schema, name)
        if table is None:
            self._uncertain(schema, name)
            return
        columns: list[str] = []
        for column in operation.columns:
            column_name = column if isinstance(column, str) else getattr(column, "name", None)
            if column_name is None or column_name not in table.columns:
                # an expression index: its shape is not compared
                self._uncertain(schema, name)
                return
            columns.append(column_name)
        index_name = str(operation.index_name) if operation.index_name else None
        spec = (index_name, tuple(columns), bool(operation.unique), dict(operation.kw))
        self._set(schema, name, rebuild(table, drop_index=index_name, add_indexes=(spec,)))

    def _drop_index(self, schema: str | None, table_name: str | None, index_name: str) -> None:
        keys = [(schema, table_name)] if table_name else list(self.tables)
        for key in keys:
            table = self.tables.get(key)
            if table is not None and any(index.name == index_name for index in table.indexes):
                self._set(key[0], key[1], rebuild(table, drop_index=index_name))
                return

    def _add_constraint(self, operation: Any) -> None:
        from alembic.operations import ops
        from sqlalchemy import (
            CheckConstraint,
            ForeignKeyConstraint,
            PrimaryKeyConstraint,
            UniqueConstraint,
        )

        schema = getattr(operation, "schema", None) or operation.kw.get("source_schema")
        table_name = getattr(operation, "table_name", None) or getattr(
            operation, "source_table", None
        )
        if not table_name:
            return
        name = operation.constraint_name
        if isinstance(operation, ops.CreateForeignKeyOp):
            options = dict(operation.kw)
            options.pop("source_schema", None)
            referent_schema = options.pop("referent_schema", None)
            referent = operation.referent_table
            if referent_schema:
                referent = f"{referent_schema}.{referent}"
            constraint: Any = ForeignKeyConstraint(
                list(operation.local_cols),
                [f"{referent}.{column}" for column in operation.remote_cols],
                name=name,
                **options,
            )
        elif isinstance(operation, ops.CreateUniqueConstraintOp):
            constraint = UniqueConstraint(*operation.columns, name=name)
        elif isinstance(operation, ops.CreateCheckConstraintOp):
            constraint = CheckConstraint(operation.condition, name=name)
        elif isinstance(operation, ops.CreatePrimaryKeyOp):
            constraint = PrimaryKeyConstraint(*operation.columns, name=name)
        else:
            self._uncertain(schema, table_name)
            return
        self._change(schema, table_name, add_constraints=(constraint,))

    def _drop_constraint(self, schema: str | None, table_name: str, name: Any) -> None:
        table = self.table(schema, table_name)
        if table is None:
            self._uncertain(schema, table_name)
            return
        if any(c.name is not None and str(c.name) == str(name) for c in table.constraints):
            self._set(schema, table_name, rebuild(table, drop_constraint=str(name)))
            return
        if any(index.name == str(name) for index in table.indexes):
            # MySQL keeps a unique constraint as an index of the same name
            self._drop_index(schema, table_name, str(name))
            return
        called = constraint_called(table, str(name))
        if called is not None:
            self._set(schema, table_name, rebuild(table, drop_given=called))
            return
        # a name the replay cannot place: what the table holds is no longer known
        self._uncertain(schema, table_name)

    def _execute(self, operation: Any) -> None:
        """Raw SQL. Data statements (UPDATE, INSERT, ...) leave the schema as it is; anything
        else makes every known table it names uncertain, and a table it creates too."""
        sqltext = operation.sqltext
        text = sqltext if isinstance(sqltext, str) else str(getattr(sqltext, "text", sqltext))
        for statement in text.split(";"):
            words = _SQL_WORD.findall(statement)
            if not words or words[0].lower() in _DATA_STATEMENTS:
                continue
            named = {word.lower() for word in words}
            for schema, name in list(self.tables):
                if name.lower() in named:
                    self._uncertain(schema, name)
            for match in _TABLE_STATEMENT.finditer(statement):
                first, second = match.group(1), match.group(2)
                schema, name = (first, second) if second else (None, first)
                self._uncertain(schema, name)

    def _apply_fact(self, operation: Operation) -> None:
        """A statically read operation: its names are known, its types are not."""
        if operation.table is None:
            return
        self._uncertain(operation.schema, operation.table)
        if operation.kind == "rename_table" and operation.name:
            self._uncertain(operation.schema, operation.name)

    def _uncertain(self, schema: str | None, name: str) -> None:
        self.uncertain.add((schema, name))
        self.touched.add((schema, name))


def _column_index(
    table: str,
    schema: str | None,
    column: Column[Any],
    naming_convention: dict[str, Any] | None = None,
) -> tuple[Any, ...]:
    """The index alembic's add_column makes for ``index=True`` (unique with ``unique=True``),
    named as SQLAlchemy names it in a table built the way alembic builds the operation's: with
    the naming convention recorded with the operation (target_metadata's), else SQLAlchemy's
    default, ``ix_<table>_<column>``."""
    from sqlalchemy import MetaData, Table

    if not column.index:
        return ()
    metadata = (
        MetaData() if naming_convention is None else MetaData(naming_convention=naming_convention)
    )
    probe = Table(table, metadata, column._copy(), schema=schema)
    return tuple(
        (None if index.name is None else str(index.name), (column.name,), bool(index.unique), {})
        for index in probe.indexes
    )


def _server_default(value: Any) -> Any:
    """A server default as a column takes it (``None``: no default)."""
    from sqlalchemy import DefaultClause

    if value is None or isinstance(value, DefaultClause):
        return value
    return DefaultClause(value)


def _restates_column(operation: Any) -> bool:
    """Whether alembic's MySQL ``alter_column`` sends a MODIFY or CHANGE for ``operation``
    (rather than an ALTER ... SET DEFAULT, or nothing): a new name, type, nullability,
    autoincrement or comment. A functional default (``CHANGE`` too) is not told apart."""
    return (
        operation.modify_name is not None
        or operation.modify_type is not None
        or operation.modify_nullable is not None
        or operation.kw.get("autoincrement") is not None
        or operation.modify_comment is not False
    )
