"""A new table like another with some changes, for a replay that never changes a table in place."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from migdoctor.operations.constraint_names import GIVEN_NAMES, given_names, name_added

if TYPE_CHECKING:
    from sqlalchemy import Column, Index, Table

IndexSpec = tuple[str | None, tuple[str, ...], bool, dict[str, Any]]


def rebuild(
    table: Table,
    *,
    name: str | None = None,
    add_columns: tuple[Column[Any], ...] = (),
    drop_columns: frozenset[str] = frozenset(),
    replace_column: tuple[str, Column[Any]] | None = None,
    add_indexes: tuple[IndexSpec, ...] = (),
    drop_index: str | None = None,
    add_constraints: tuple[Any, ...] = (),
    drop_constraint: str | None = None,
    drop_given: Any = None,
    retarget: dict[str, str] | None = None,
) -> Table:
    """A new table like ``table`` with the changes: indexes and constraints whose columns all
    remain are kept (a renamed column followed), with the names the databases gave them; the
    unnamed ``add_constraints`` (made for this call) get theirs."""
    from sqlalchemy import (
        CheckConstraint,
        ForeignKeyConstraint,
        MetaData,
        PrimaryKeyConstraint,
        Table,
        UniqueConstraint,
    )

    given = given_names(table)
    renamed: dict[str, str] = {}
    columns: list[Column[Any]] = []
    added = {column.name for column in add_columns}
    for column in table.columns:
        if column.name in drop_columns or column.name in added:
            continue
        if replace_column is not None and column.name == replace_column[0]:
            renamed[column.name] = replace_column[1].name
            columns.append(_column_copy(replace_column[1]))
        else:
            columns.append(_column_copy(column))
    columns += [_column_copy(column) for column in add_columns]
    names = {column.name for column in columns}

    constraints: list[Any] = []
    for constraint in table.constraints:
        if isinstance(constraint, PrimaryKeyConstraint):
            continue  # primary_key flags on the columns carry it
        if drop_constraint is not None and str(constraint.name) == drop_constraint:
            continue
        if constraint is drop_given:
            continue
        info = {GIVEN_NAMES: given[constraint]} if constraint in given else None
        if isinstance(constraint, CheckConstraint):
            constraints.append(CheckConstraint(constraint.sqltext, name=constraint.name, info=info))
        elif isinstance(constraint, ForeignKeyConstraint):
            local = [renamed.get(key, key) for key in constraint.column_keys]
            if all(key in names for key in local):
                constraints.append(
                    ForeignKeyConstraint(
                        local,
                        [
                            _retargeted(element._get_colspec(), retarget or {})
                            for element in constraint.elements
                        ],
                        name=constraint.name,
                        ondelete=constraint.ondelete,
                        onupdate=constraint.onupdate,
                        info=info,
                    )
                )
        elif isinstance(constraint, UniqueConstraint):
            unique_columns = [renamed.get(c.name, c.name) for c in constraint.columns]
            if all(key in names for key in unique_columns):
                constraints.append(
                    UniqueConstraint(*unique_columns, name=constraint.name, info=info)
                )
    constraints += list(add_constraints)

    indexes: list[IndexSpec] = []
    for index in table.indexes:
        if drop_index is not None and index.name == drop_index:
            continue
        kept = tuple(renamed.get(c.name, c.name) for c in index.columns)
        if kept and all(key in names for key in kept):
            index_name = None if index.name is None else str(index.name)
            indexes.append((index_name, kept, bool(index.unique), dict(index.kwargs)))
    indexes += list(add_indexes)

    rebuilt = Table(name or table.name, MetaData(), *columns, *constraints, schema=table.schema)
    for index_name, index_columns, unique, options in indexes:
        _index(index_name, [rebuilt.columns[c] for c in index_columns], unique, options)
    name_added(rebuilt, add_constraints)
    return rebuilt


def _retargeted(colspec: str, retarget: dict[str, str]) -> str:
    table, _, column = colspec.rpartition(".")
    return f"{retarget[table]}.{column}" if table in retarget else colspec


def _index(name: str | None, columns: list[Any], unique: bool, options: dict[str, Any]) -> Index:
    from sqlalchemy import Index

    return Index(name, *columns, unique=unique, **options)


def _column_copy(column: Column[Any]) -> Column[Any]:
    """A detached copy of a column, without its foreign keys (the table's constraints carry
    them)."""
    from sqlalchemy import Column

    default = column.server_default
    copy_default = getattr(default, "_copy", None)
    return Column(
        column.name,
        column.type,
        primary_key=column.primary_key,
        nullable=column.nullable,
        server_default=copy_default() if copy_default is not None else default,
        autoincrement=column.autoincrement,
        comment=column.comment,
    )
