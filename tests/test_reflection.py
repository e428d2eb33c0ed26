"""``migdoctor check`` reflects only the live tables its checks read: those the recorded
operations of the history name (the schema at every revision is measured against them), unless
a selected check asks for them all. A live table no revision names is listed, not reflected."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from migdoctor import checks
from migdoctor.facts.model import ALL_TABLES, OPERATION_TABLES
from tests.conftest import Database
from tests.helpers import Project, run

USER = "1a2b3c4d5e6f"

PROBE = """
import json, sys
from migdoctor.gathering.gather import gather_facts
from migdoctor.project.config import ConfigOptions
facts = gather_facts(ConfigOptions(config=("alembic.ini",)), tables=sys.argv[1])
database = facts.database
reflected = sorted(t.name for t in database.tables)
print(json.dumps([database.tables_read, reflected, database.table_names]))
"""


def reflected(project: Project, tables: str) -> tuple[str, list[str]]:
    """Which tables were reflected; every live table is named either way."""
    read, names, _ = probe(project, tables)
    return read, names


def probe(project: Project, tables: str) -> tuple[str, list[str], list[str]]:
    result = run([sys.executable, "-c", PROBE, tables], project.root)
    assert result.exit_code == 0, result
    read, names, every_name = json.loads(result.stdout.strip().splitlines()[-1])
    return read, names, every_name


def test_only_tables_the_history_names(blog: Project, database: Database) -> None:
    blog.upgrade(USER)  # article and comment pending
    database.execute(
        "CREATE TABLE ARTICLE (id INTEGER PRIMARY KEY)"
        if database.backend != "postgresql"  # PostgreSQL folds unquoted names to lower case
        else "CREATE TABLE article (id INTEGER PRIMARY KEY)",
        "CREATE TABLE unrelated (id INTEGER PRIMARY KEY)",
    )

    read, narrow, named = probe(blog, OPERATION_TABLES)
    _, everything, all_named = probe(blog, ALL_TABLES)

    assert read == OPERATION_TABLES
    assert sorted(name.lower() for name in narrow) == ["article", "user"]
    assert sorted(name.lower() for name in everything) == ["article", "unrelated", "user"]
    assert named == all_named == everything  # no-target-metadata counts the same tables


def test_an_unnamed_table_is_not_reflected_at_head(blog: Project, database: Database) -> None:
    blog.upgrade("head")
    database.execute("CREATE TABLE unrelated (id INTEGER PRIMARY KEY)")

    read, names, every_name = probe(blog, OPERATION_TABLES)

    assert (read, sorted(names)) == (OPERATION_TABLES, ["article", "comment", "user"])
    assert "unrelated" in every_name


def test_a_check_that_does_not_say_what_it_reads_gets_every_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registered = checks.all_checks()
    assert {c.reads_tables for c in registered if c.needs_database} == {OPERATION_TABLES}
    assert checks.tables_to_read() == OPERATION_TABLES

    undeclared = dataclasses.replace(registered[0], slug="schema-reader", reads_tables=ALL_TABLES)
    monkeypatch.setattr(checks, "all_checks", lambda: (*registered, undeclared))

    assert checks.tables_to_read() == ALL_TABLES
    assert checks.tables_to_read(ignore=["schema-reader"]) == OPERATION_TABLES
    assert checks.tables_to_read(select=[registered[0].slug]) == OPERATION_TABLES


SQLITE_SCHEMA = (
    "CREATE TABLE account (id INTEGER NOT NULL PRIMARY KEY, email VARCHAR(120) NOT NULL UNIQUE, "
    "balance NUMERIC(10, 2) DEFAULT 0, active BOOLEAN, created DATETIME NOT NULL, note TEXT, "
    "data BLOB, rate FLOAT, kind VARCHAR(8) CHECK (kind IN ('a', 'b')), odd MYTYPE(3), "
    "untyped)",
    "CREATE TABLE entry (account_id INTEGER NOT NULL REFERENCES account(id), seq INTEGER NOT NULL, "
    "amount DECIMAL(12, 4), PRIMARY KEY (account_id, seq)) WITHOUT ROWID",
    "CREATE INDEX ix_entry_amount ON entry (amount)",
    "CREATE UNIQUE INDEX ux_account_note ON account (note) WHERE note IS NOT NULL",
    'CREATE TABLE "odd name" ("a b" INTEGER, "Mixed" varchar(3))',
    "CREATE VIEW rich AS SELECT * FROM account WHERE balance > 100",
)


def test_sqlite_tables_read_in_one_query_are_what_sqlalchemy_reflects(tmp_path: Path) -> None:
    """On SQLite every table's columns and index names come from one query each over
    sqlite_master (pragma_table_xinfo, pragma_index_list): the same columns, types, nullability
    and index names as SQLAlchemy's own reflection, table by table."""
    import sqlite3

    from sqlalchemy import create_engine, inspect

    from migdoctor.database import schema

    path = tmp_path / "app.db"
    with sqlite3.connect(path) as connection:
        for statement in SQLITE_SCHEMA:
            connection.execute(statement)
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        assert schema._sqlite_in_one_query(inspect(connection)) is not None
        fast, fast_names = schema.read_tables(inspect(connection), [None], exclude=())
        inspector = inspect(connection)
        expected = {
            name: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)],
                sorted(i["name"] for i in inspector.get_indexes(name)),
            )
            for name in inspector.get_table_names()
        }
    engine.dispose()

    assert sorted(fast_names) == sorted(expected) == ["account", "entry", "odd name"]
    for table in fast:
        columns = [(c.name, c.type, c.nullable) for c in table.columns]
        assert (columns, sorted(table.indexes)) == expected[table.name], table.name
        assert all(c.type_object is not None for c in table.columns)
