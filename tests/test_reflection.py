"""``migdoctor check`` reflects only the live tables its checks read: those the recorded
operations of the history name (the schema at every revision is measured against them), unless
a selected check asks for them all. A live table no revision names is listed, not reflected."""

from __future__ import annotations

import dataclasses
import json
import sys

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
