"""The schema at a revision: the recorded operations of its history replayed onto a MetaData.

Each revision's ``upgrade()`` was recorded as alembic ``MigrateOperation`` objects (see
``recorder``). Applying them, oldest first, to an empty SQLAlchemy ``MetaData`` gives the schema
the history describes at any revision: tables, columns with their types, nullability and server
defaults, indexes, and unique, foreign-key and check constraints, with renames and drops
followed. alembic's own comparison (``compare_metadata``) then measures a live database against
it.

What cannot be known is never guessed: a table that raw SQL (``op.execute``) names, a table of a
revision read only statically, or one an operation migdoctor does not understand touches, is
marked *uncertain*, and comparisons leave it out rather than calling it different.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migdoctor.operations.model import Operation, RevisionOperations

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


def _key(schema: str | None, name: str) -> TableKey:
    return (schema, name)


@dataclass
class ReplayedSchema:
    """The schema a history describes, built one operation at a time.

    ``uncertain`` holds the tables whose shape cannot be known from the recorded operations;
    ``named`` every table any replayed operation named (the tables the history is about), so
    that a live table outside it is untracked rather than different.
    """

    metadata: MetaData
    uncertain: set[TableKey] = field(default_factory=set)
    named: set[TableKey] = field(default_factory=set)
    index_names: set[str] = field(default_factory=set)

    @classmethod
    def empty(cls) -> ReplayedSchema:
        from sqlalchemy import MetaData

        return cls(MetaData())

    def table(self, schema: str | None, name: str) -> Table | None:
        return self.metadata.tables.get(f"{schema}.{name}" if schema else name)

    def replay(self, revisions: Iterable[RevisionOperations]) -> ReplayedSchema:
        for recorded in revisions:
            self.apply_revision(recorded)
        return self

    def apply_revision(self, recorded: RevisionOperations) -> None:
        if recorded.migrate_operations is None:
            # read statically (the file could not be run): names without types
            for operation in recorded.operations:
                self._apply_fact(operation)
            return
        for migrate_operation in recorded.migrate_operations:
            try:
                self._apply(migrate_operation)
            except Exception:  # noqa: BLE001 - an odd operation must not stop the replay
                table = getattr(migrate_operation, "table_name", None)
                if table:
                    self._uncertain(getattr(migrate_operation, "schema", None), table)
        for key in recorded.uncertain_tables:
            self.uncertain.add(key)
            self.named.add(key)

    # -- operations ------------------------------------------------------------------------------

    def _apply(self, operation: Any) -> None:
        from alembic.operations import ops

        schema = getattr(operation, "schema", None)
        table_name = getattr(operation, "table_name", None)
        if table_name:
            self.named.add(_key(schema, table_name))
        if isinstance(operation, ops.CreateTableOp):
            self._create_table(operation)
        elif isinstance(operation, ops.DropTableOp):
            self._drop_table(schema, operation.table_name)
        elif isinstance(operation, ops.RenameTableOp):
            self.named.add(_key(schema, operation.new_table_name))
            self._rename_table(schema, operation.table_name, operation.new_table_name)
        elif isinstance(operation, ops.AddColumnOp):
            self._add_column(schema, operation.table_name, operation.column)
        elif isinstance(operation, ops.DropColumnOp):
            self._drop_column(schema, operation.table_name, operation.column_name)
        elif isinstance(operation, ops.AlterColumnOp):
            self._alter_column(operation)
        elif isinstance(operation, ops.CreateIndexOp):
            self._create_index(operation)
        elif isinstance(operation, ops.DropIndexOp):
            self._drop_index(schema, table_name, str(operation.index_name))
        elif isinstance(operation, ops.AddConstraintOp):
            self._add_constraint(operation)
        elif isinstance(operation, ops.DropConstraintOp):
            self._drop_constraint(schema, operation.table_name, operation.constraint_name)
        elif isinstance(operation, ops.ExecuteSQLOp):
            self._execute(operation)
        elif isinstance(operation, (ops.BulkInsertOp,)) or "Comment" in type(operation).__name__:
            return  # data and comments: nothing the comparison weighs
        elif table_name:
            # an operation migdoctor does not know (a custom or third-party op)
            self._uncertain(schema, table_name)

    def _create_table(self, operation: Any) -> None:
        from sqlalchemy import Table

        schema, name = operation.schema, operation.table_name
        self._drop_table(schema, name)
        self.uncertain.discard(_key(schema, name))
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
        if built is None:
            built = operation.to_table()
        copied = built.to_metadata(self.metadata)
        for index in copied.indexes:
            if index.name:
                self.index_names.add(str(index.name))

    def _drop_table(self, schema: str | None, name: str) -> None:
        table = self.table(schema, name)
        if table is not None:
            self.metadata.remove(table)

    def _rename_table(self, schema: str | None, old: str, new: str) -> None:
        table = self.table(schema, old)
        if table is None:
            self._uncertain(schema, new)
            return
        self._rebuild(table, name=new)
        if _key(schema, old) in self.uncertain:
            self.uncertain.discard(_key(schema, old))
            self.uncertain.add(_key(schema, new))

    def _add_column(self, schema: str | None, name: str, column: Column[Any]) -> None:
        table = self.table(schema, name)
        if table is None:
            self._uncertain(schema, name)
            return
        from sqlalchemy import ForeignKeyConstraint

        columns = [c for c in table.columns if c.name != column.name]
        rebuilt = self._rebuild(table, columns=[*columns, column])
        for foreign_key in column.foreign_keys:
            rebuilt.append_constraint(
                ForeignKeyConstraint(
                    [column.name],
                    [foreign_key._colspec],
                    name=foreign_key.name,
                    ondelete=foreign_key.ondelete,
                    onupdate=foreign_key.onupdate,
                )
            )

    def _drop_column(self, schema: str | None, name: str, column_name: str) -> None:
        table = self.table(schema, name)
        if table is None:
            self._uncertain(schema, name)
            return
        self._rebuild(table, columns=[c for c in table.columns if c.name != column_name])

    def _alter_column(self, operation: Any) -> None:
        from sqlalchemy import Column, DefaultClause

        schema, name = operation.schema, operation.table_name
        table = self.table(schema, name)
        if table is None or operation.column_name not in table.columns:
            self._uncertain(schema, name)
            return
        old = table.columns[operation.column_name]
        new_name = operation.modify_name or old.name
        server_default: Any = old.server_default
        if operation.modify_server_default is not False:
            value = operation.modify_server_default
            server_default = (
                None
                if value is None
                else value
                if isinstance(value, DefaultClause)
                else DefaultClause(value)
            )
        nullable = old.nullable if operation.modify_nullable is None else operation.modify_nullable
        replacement = Column(
            new_name,
            operation.modify_type if operation.modify_type is not None else old.type,
            primary_key=old.primary_key,
            nullable=nullable,
            server_default=server_default,
            autoincrement=old.autoincrement,
            comment=old.comment,
        )
        columns = [replacement if c is old else c for c in table.columns]
        renamed = {old.name: new_name} if new_name != old.name else {}
        self._rebuild(table, columns=columns, renamed_columns=renamed)

    def _create_index(self, operation: Any) -> None:
        from sqlalchemy import Index

        schema, name = operation.schema, operation.table_name
        table = self.table(schema, name)
        if table is None:
            self._uncertain(schema, name)
            return
        index_name = str(operation.index_name) if operation.index_name else None
        if index_name:
            self.index_names.add(index_name)
            self._drop_index(schema, name, index_name)
        expressions: list[Any] = []
        for column in operation.columns:
            column_name = column if isinstance(column, str) else getattr(column, "name", None)
            if column_name is None or column_name not in table.columns:
                # an expression index: its shape is not compared
                self._uncertain(schema, name)
                return
            expressions.append(table.columns[column_name])
        Index(index_name, *expressions, unique=bool(operation.unique), **operation.kw)

    def _drop_index(self, schema: str | None, table_name: str | None, index_name: str) -> None:
        tables = (
            [self.table(schema, table_name)] if table_name else list(self.metadata.tables.values())
        )
        for table in tables:
            if table is None:
                continue
            for index in list(table.indexes):
                if index.name == index_name:
                    table.indexes.discard(index)
                    return

    def _add_constraint(self, operation: Any) -> None:
        from alembic.operations import ops
        from sqlalchemy import (
            CheckConstraint,
            ForeignKeyConstraint,
            PrimaryKeyConstraint,
            UniqueConstraint,
        )

        schema = operation.schema
        table_name = getattr(operation, "table_name", None) or getattr(
            operation, "source_table", None
        )
        if not table_name:
            return
        self.named.add(_key(schema, table_name))
        table = self.table(schema, table_name)
        if table is None:
            self._uncertain(schema, table_name)
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
        table.append_constraint(constraint)

    def _drop_constraint(self, schema: str | None, table_name: str, name: Any) -> None:
        table = self.table(schema, table_name)
        if table is None:
            self._uncertain(schema, table_name)
            return
        for constraint in list(table.constraints):
            if constraint.name is not None and str(constraint.name) == str(name):
                table.constraints.discard(constraint)
                for column in table.columns:
                    column.foreign_keys -= set(getattr(constraint, "elements", ()))
                return
        # MySQL keeps a unique constraint as an index of the same name
        self._drop_index(schema, table_name, str(name))

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
            for table in list(self.metadata.tables.values()):
                if table.name.lower() in named:
                    self._uncertain(table.schema, table.name)
            for match in _TABLE_STATEMENT.finditer(statement):
                first, second = match.group(1), match.group(2)
                schema, name = (first, second) if second else (None, first)
                self._uncertain(schema, name)

    def _apply_fact(self, operation: Operation) -> None:
        """A statically read operation: its names are known, its types are not."""
        if operation.table is None:
            return
        schema = operation.schema
        self._uncertain(schema, operation.table)
        if operation.kind == "rename_table" and operation.name:
            self._uncertain(schema, operation.name)

    def _uncertain(self, schema: str | None, name: str) -> None:
        self.uncertain.add(_key(schema, name))
        self.named.add(_key(schema, name))

    def _rebuild(
        self,
        table: Table,
        *,
        name: str | None = None,
        columns: list[Column[Any]] | None = None,
        renamed_columns: dict[str, str] | None = None,
    ) -> Table:
        """Replace ``table`` by a copy with another name or other columns, keeping the indexes
        and constraints whose columns all remain (renamed columns followed)."""
        from sqlalchemy import (
            CheckConstraint,
            ForeignKeyConstraint,
            Index,
            PrimaryKeyConstraint,
            Table,
            UniqueConstraint,
        )

        renamed = renamed_columns or {}
        kept = list(table.columns) if columns is None else columns
        names = {column.name for column in kept}
        new_columns = [_column_copy(column) for column in kept]
        constraints: list[Any] = []
        for constraint in table.constraints:
            if isinstance(constraint, PrimaryKeyConstraint):
                continue  # primary_key flags on the columns carry it
            if isinstance(constraint, CheckConstraint):
                constraints.append(CheckConstraint(constraint.sqltext, name=constraint.name))
                continue
            constraint_columns = [
                renamed.get(c.name, c.name) for c in getattr(constraint, "columns", ())
            ]
            if isinstance(constraint, ForeignKeyConstraint):
                local = [renamed.get(n, n) for n in constraint.column_keys]
                if not all(n in names for n in local):
                    continue
                constraints.append(
                    ForeignKeyConstraint(
                        local,
                        [element.target_fullname for element in constraint.elements],
                        name=constraint.name,
                        ondelete=constraint.ondelete,
                        onupdate=constraint.onupdate,
                    )
                )
            elif isinstance(constraint, UniqueConstraint) and all(
                n in names for n in constraint_columns
            ):
                constraints.append(UniqueConstraint(*constraint_columns, name=constraint.name))
        indexes = []
        for index in table.indexes:
            index_columns = [renamed.get(c.name, c.name) for c in index.columns]
            if index_columns and all(n in names for n in index_columns):
                indexes.append((index.name, index_columns, index.unique, dict(index.kwargs)))
        schema = table.schema
        self.metadata.remove(table)
        rebuilt = Table(
            name or table.name, self.metadata, *new_columns, *constraints, schema=schema
        )
        for index_name, index_columns, unique, kwargs in indexes:
            Index(index_name, *[rebuilt.columns[n] for n in index_columns], unique=unique, **kwargs)
        return rebuilt


def _column_copy(column: Column[Any]) -> Column[Any]:
    """A detached copy of a column, without its foreign keys (the table's constraints carry
    them)."""
    from sqlalchemy import Column

    return Column(
        column.name,
        column.type,
        primary_key=column.primary_key,
        nullable=column.nullable,
        server_default=column.server_default,
        autoincrement=column.autoincrement,
        comment=column.comment,
    )
