"""Operations as plain frozen data: what checks reason about, independent of alembic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

RECORDED = "recorded"
STATIC = "static"


@dataclass(frozen=True)
class Operation:
    """One step of an ``upgrade()``: ``kind`` is alembic's operation name (``create_table``,
    ``add_column``, ``create_index``, ``execute``…); ``columns`` are the columns it creates or
    names; ``name`` is the index or constraint name, or the new name of a renamed table or column.
    """

    kind: str
    table: str | None = None
    schema: str | None = None
    columns: tuple[str, ...] = ()
    name: str | None = None
    detail: str = ""
    # what the blast-radius checks need of the call as written: the column's nullability
    # (add_column: the new column's; alter_column: the requested one, None when unchanged),
    # whether it has a server default, a unique index, ``postgresql_concurrently=True``
    nullable: bool | None = None
    server_default: bool = False
    unique: bool = False
    concurrently: bool = False
    # a constraint added ``postgresql_not_valid=True``: existing rows are not checked
    not_valid: bool = False
    # alter_column's new type (as SQLAlchemy's default dialect writes it: ``VARCHAR(100)``),
    # add_column's server default as SQL
    new_type: str | None = None
    default_sql: str | None = None
    # run inside ``op.get_context().autocommit_block()``
    autocommit: bool = False
    # create_check_constraint's condition, as SQL text
    condition: str | None = field(default=None, compare=False)
    # alter_column: the new type as PostgreSQL writes it (``integer``, ``character varying(100)``
    # come out as INTEGER, VARCHAR(100)), and whether ``postgresql_using`` says how to convert
    new_type_postgresql: str | None = field(default=None, compare=False)
    using: bool = field(default=False, compare=False)
    # alter_column: the new type is an enumeration PostgreSQL makes a type of its own for (an
    # ENUM), to which it converts nothing by itself
    new_type_enum: bool = field(default=False, compare=False)
    # drop_constraint's ``type_`` (``unique``, ``foreignkey``, ``primary``, ``check``; None when
    # not given); create_foreign_key's referred table and columns
    constraint_type: str | None = None
    referred_table: str | None = None
    referred_schema: str | None = None
    referred_columns: tuple[str, ...] = ()
    # the line of the revision file that calls it (None when not known), and the codes a
    # ``# migdoctor: ignore[MD401]`` comment on that line silences
    line: int | None = field(default=None, compare=False)
    ignored: tuple[str, ...] = field(default=(), compare=False)

    @property
    def qualified_table(self) -> str | None:
        if self.table is None:
            return None
        return f"{self.schema}.{self.table}" if self.schema else self.table

    def describe(self) -> str:
        """The operation in a few words, as a user would say it."""
        table = self.qualified_table
        columns = ", ".join(self.columns)
        if self.kind == "create_table":
            return f"create table {table} ({columns})"
        if self.kind in ("add_column", "drop_column"):
            verb = "add" if self.kind == "add_column" else "drop"
            return f"{verb} column {table}.{columns}"
        if self.kind == "alter_column":
            renamed = f" (rename to {self.name})" if self.name else ""
            return f"alter column {table}.{columns}{renamed}"
        if self.kind == "drop_table":
            return f"drop table {table}"
        if self.kind == "rename_table":
            return f"rename table {table} to {self.name}"
        if self.kind in ("create_index", "drop_index"):
            verb = "create" if self.kind == "create_index" else "drop"
            on = f" on {table} ({columns})" if table else ""
            return f"{verb} index {self.name}{on}"
        if self.kind == "execute":
            return f"execute SQL: {self.detail}" if self.detail else "execute SQL"
        if table:
            named = f" {self.name}" if self.name else ""
            return f"{self.kind.replace('_', ' ')}{named} on {table}"
        return self.kind.replace("_", " ")


@dataclass(frozen=True)
class UnreadCall:
    """A call in a revision's source that reading it cannot tell the effect of: ``line`` where
    the file makes it (None when not known), ``words`` what it is."""

    line: int | None
    words: str


def unread_words(unread: Sequence[UnreadCall]) -> str | None:
    """What of a revision could not be read, in words (None when everything could)."""
    return "; ".join(dict.fromkeys(call.words for call in unread)) or None


@dataclass(frozen=True)
class RevisionOperations:
    """What one revision's ``upgrade()`` would do.

    ``method`` says how it was learned: ``recorded`` (the function ran against a recorder, nothing
    executed) or ``static`` (literal ``op.*`` calls read from the source because the file could
    not be imported or run). ``note`` says why the static reading was needed or what is missing.
    """

    revision: str
    operations: tuple[Operation, ...]
    method: str
    note: str | None = None
    # alembic's own operation objects, in order, for replaying the schema (None when read
    # statically): they carry the types, nullability and defaults the facts above leave out
    migrate_operations: Sequence[Any] | None = field(default=None, compare=False, repr=False)
    # tables whose shape this revision makes unknowable: named by raw SQL, or touched by a
    # branch of upgrade() that asked the database (as (schema, table))
    uncertain_tables: tuple[tuple[str | None, str], ...] = ()
    # read statically, the calls that could not be read (an operation on a computed table, a
    # call the reader cannot follow that is handed op); none when everything was. Such a
    # revision may have touched any table: the replay takes every table as unknown after it
    unread: tuple[UnreadCall, ...] = ()
    # upgrade() asked the live database something (get_bind(), an inspector): what it does
    # depends on the database it runs on
    consulted_database: bool = False
    # upgrade() runs operations inside op.get_context().autocommit_block(): they commit one by
    # one even where DDL is transactional
    autocommit: bool = False
    # nothing but the file shapes the recording (it imports only alembic, SQLAlchemy and the
    # standard library, and asked the database nothing): the same file, the same operations
    reproducible: bool = field(default=False, compare=False)
