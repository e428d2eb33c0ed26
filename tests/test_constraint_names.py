"""The names the replay expects a database to give the constraints made without one, held
against the names the server really gives: a history of alembic operations runs on MariaDB and
PostgreSQL, dropping constraints by the names the server gave, and is replayed; every
constraint the server reports must be the replay's, under the same name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Database

NameOf = Callable[[str, str, tuple[str, ...]], str]


def _history(op: Any, name_of: NameOf) -> None:
    """Every rule of operations/constraint_names, one after the other (``name_of(table, kind,
    columns)``: the name the server gave a constraint, to drop it by)."""
    import sqlalchemy as sa

    op.create_table("parent", sa.Column("id", sa.Integer(), primary_key=True))
    op.create_table("other", sa.Column("id", sa.Integer(), primary_key=True))
    op.create_table(
        "child",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("a", sa.Integer(), sa.ForeignKey("parent.id")),
        sa.Column("b", sa.Integer()),
        sa.Column("c", sa.Integer(), sa.ForeignKey("parent.id")),
        sa.Column("d", sa.Integer()),
        sa.Column("e", sa.Integer()),
        sa.Column("title", sa.String(20)),
        sa.Column("code", sa.String(20), unique=True),
        # written before the columns' foreign keys: MySQL's child_ibfk_1
        sa.ForeignKeyConstraint(["b"], ["parent.id"]),
        # a name like MySQL's: the next one added is numbered after it
        sa.ForeignKeyConstraint(["d"], ["other.id"], name="child_ibfk_9"),
        sa.UniqueConstraint("title"),
        sa.UniqueConstraint("title", "code"),
        sa.CheckConstraint("a > 0"),
        sa.CheckConstraint("a > b"),
    )
    # a foreign key added after the highest number, then again after that one is dropped
    op.drop_constraint(name_of("child", "foreignkey", ("c",)), "child", type_="foreignkey")
    op.create_foreign_key(None, "child", "other", ["e"], ["id"])
    op.drop_constraint(name_of("child", "foreignkey", ("e",)), "child", type_="foreignkey")
    op.create_foreign_key(None, "child", "parent", ["e"], ["id"])
    # the lowest dropped: the next one is still numbered after the highest
    op.drop_constraint(name_of("child", "foreignkey", ("b",)), "child", type_="foreignkey")
    op.create_foreign_key(None, "child", "parent", ["b"], ["id"])
    op.create_foreign_key(None, "child", "other", ["b"], ["id"])
    # unique keys: a name freed is given again, a name taken gets a number
    op.drop_constraint(name_of("child", "unique", ("title",)), "child", type_="unique")
    op.create_unique_constraint(None, "child", ["title"])
    op.create_unique_constraint(None, "child", ["code", "title"])
    op.add_column("child", sa.Column("f", sa.Integer(), sa.ForeignKey("parent.id"), unique=True))
    # checks
    op.drop_constraint(name_of("child", "check", ("a",)), "child", type_="check")
    op.create_check_constraint(None, "child", "a < 100")
    op.create_check_constraint(None, "child", "a < 1000")
    # renamed: MySQL's foreign key names follow the table, the others stay
    op.rename_table("child", "kid")
    op.drop_constraint(name_of("kid", "foreignkey", ("a",)), "kid", type_="foreignkey")
    op.drop_constraint(name_of("kid", "foreignkey", ("d",)), "kid", type_="foreignkey")
    op.create_foreign_key(None, "kid", "other", ["a"], ["id"])
    op.drop_constraint(name_of("kid", "unique", ("code", "title")), "kid", type_="unique")
    op.alter_column("kid", "e", new_column_name="editor", existing_type=sa.Integer())
    op.drop_constraint(name_of("kid", "foreignkey", ("editor",)), "kid", type_="foreignkey")
    # names longer than PostgreSQL's 63 bytes: the longer part is cut, the label kept, and a
    # taken name's number goes into the label before the cut
    op.create_table(
        LONG,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("participant_identifier_number", sa.Integer(), sa.ForeignKey("parent.id")),
        sa.Column("participant_external_reference", sa.Integer()),
        sa.UniqueConstraint("participant_identifier_number", "participant_external_reference"),
        sa.CheckConstraint("participant_external_reference > 0"),
    )
    op.create_foreign_key(None, LONG, "other", ["participant_identifier_number"], ["id"])
    op.create_unique_constraint(
        None, LONG, ["participant_identifier_number", "participant_external_reference"]
    )
    op.create_check_constraint(None, LONG, "participant_external_reference < 1000")


# a table whose constraints' names PostgreSQL cuts
LONG = "registration_of_long_named_participants"


@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_the_replay_names_unnamed_constraints_as_the_server_does(
    server_database: Database,
) -> None:
    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from sqlalchemy import inspect

    from migdoctor.facts.operations import RECORDED, RevisionOperations
    from migdoctor.operations.constraint_names import constraint_called
    from migdoctor.operations.replay import ReplayedSchema

    engine = server_database.engine()
    recorded: list[Any] = []
    with engine.begin() as connection:
        operations = Operations(MigrationContext.configure(connection))
        run = operations.invoke

        def invoke(operation: Any) -> Any:
            recorded.append(operation)
            return run(operation)

        def name_of(table: str, kind: str, columns: tuple[str, ...]) -> str:
            (name,) = (
                str(name)
                for name, found in _live_constraints(inspect(connection), table).items()
                if found[0] == kind and found[1] == columns
            )
            return name

        operations.invoke = invoke  # type: ignore[method-assign]
        _history(operations, name_of)
        live_tables = {name: _live_constraints(inspect(connection), name) for name in ("kid", LONG)}
    engine.dispose()

    replayed = ReplayedSchema().replay(
        [RevisionOperations("r1", (), RECORDED, migrate_operations=recorded)]
    )
    assert not replayed.uncertain
    assert any(len(name) == 63 for name in live_tables[LONG]) or (
        server_database.backend == "mysql"
    ), live_tables[LONG]
    for table_name, live in live_tables.items():
        table = replayed.table(None, table_name)
        assert table is not None
        named = {str(constraint.name): constraint for constraint in table.constraints}
        called = {name: named.get(name, constraint_called(table, name)) for name in live}
        assert None not in called.values(), (table_name, called)
        assert {name: _shape(c) for name, c in called.items()} == live
        assert len(set(map(id, called.values()))) == len(table.constraints) - 1  # the primary key


def _live_constraints(inspector: Any, table: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The named foreign key, unique and check constraints of ``table`` on the server, each as
    its kind and columns (a check's: the columns it reads)."""
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    for foreign_key in inspector.get_foreign_keys(table):
        found[foreign_key["name"]] = ("foreignkey", tuple(foreign_key["constrained_columns"]))
    for unique in inspector.get_unique_constraints(table):
        found[unique["name"]] = ("unique", tuple(unique["column_names"]))
    columns = [column["name"] for column in inspector.get_columns(table)]
    for check in inspector.get_check_constraints(table):
        found[check["name"]] = ("check", _read(check["sqltext"], columns))
    return found


def _shape(constraint: Any) -> tuple[str, tuple[str, ...]]:
    from sqlalchemy import CheckConstraint, ForeignKeyConstraint

    if isinstance(constraint, ForeignKeyConstraint):
        return ("foreignkey", tuple(constraint.column_keys))
    if isinstance(constraint, CheckConstraint):
        return ("check", _read(str(constraint.sqltext), list(constraint.table.columns.keys())))
    return ("unique", tuple(column.name for column in constraint.columns))


def _read(sqltext: str, columns: list[str]) -> tuple[str, ...]:
    import re

    words = set(re.findall(r"[A-Za-z_]\w*", sqltext))
    return tuple(column for column in columns if column in words)
