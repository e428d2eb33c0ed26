"""untracked-schema: tables no revision accounts for, put into a real database on every backend and
diagnosed through the installed CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import (
    APP_TABLES_AT_HEAD,
    ARTICLE,
    COMMENT,
    Project,
    add_revision,
    app_created_tables_history,
    checks_found,
    copy_project,
    env_py_sets_search_path,
    finding,
)

HEAD = "r10tighten"  # the ledger fixture's head


def test_start_over_over_a_populated_database_is_untracked_schema(
    ledger: Project, database: Database
) -> None:
    ledger.upgrade(HEAD)
    for path in ledger.versions.glob("*.py"):
        path.unlink()
    database.execute("DROP TABLE alembic_version")

    result = ledger.migdoctor("check")
    _, document = ledger.check_json()

    assert result.exit_code == 1, result
    untracked = finding(document, "untracked-schema")
    assert (untracked["code"], untracked["severity"]) == ("MD108", "error")
    assert sorted(untracked["evidence"]["tables"]) == ["account", "entry", "member"]
    assert "empty baseline" in untracked["message"]


def test_indexes_of_an_untracked_table_are_not_differences_from_the_history(
    blog: Project, database: Database
) -> None:
    # JupyterHub's pattern (jupyterhub/jupyterhub): the application creates some tables with
    # create_all() (share_codes, roles) and no revision names them; their indexes made the
    # database "match no revision" once it was behind head, while the tables themselves were
    # rightly left to untracked-schema.
    blog.upgrade(ARTICLE)
    database.execute(
        "CREATE TABLE share_codes (id INTEGER PRIMARY KEY, prefix VARCHAR(20), hashed VARCHAR(60))",
        "CREATE INDEX ix_share_codes_prefix ON share_codes (prefix)",
        "CREATE UNIQUE INDEX uq_share_codes_hashed ON share_codes (hashed)",
    )

    _, document = blog.check_json()

    assert document["database"]["schema"]["matches"] == [ARTICLE], document["database"]
    assert document["database"]["schema"]["closest_differences"] == []
    untracked = finding(document, "untracked-schema")
    assert untracked["evidence"]["tables"] == ["share_codes"]


def test_where_the_history_alters_tables_it_never_creates_the_others_are_an_info(
    blog: Project, database: Database
) -> None:
    # JupyterHub (jupyterhub/jupyterhub): every table is made by the application, the
    # revisions only alter some; the others were a warning advising a baseline revision, which
    # would not make that history build a database
    app_created_tables_history(blog)
    database.execute(
        *APP_TABLES_AT_HEAD,
        "CREATE TABLE share_codes (id INTEGER PRIMARY KEY, code VARCHAR(40))",
    )
    assert blog.alembic("stamp", "head").exit_code == 0

    code, document = blog.check_json()

    assert code == 0  # an info alone
    untracked = finding(document, "untracked-schema")
    assert untracked["severity"] == "info", untracked
    assert untracked["evidence"]["tables"] == ["share_codes"]
    assert untracked["evidence"]["altered_never_created"] == ["article", "member"]
    assert "baseline revision" not in untracked["message"]
    assert "make its tables itself" in untracked["message"]


def test_a_history_that_creates_its_tables_still_warns_of_the_others(
    blog: Project, database: Database
) -> None:
    blog.upgrade("head")
    database.execute("CREATE TABLE share_codes (id INTEGER PRIMARY KEY, code VARCHAR(40))")

    _, document = blog.check_json()

    untracked = finding(document, "untracked-schema")
    assert untracked["severity"] == "warning", untracked
    assert "altered_never_created" not in untracked["evidence"]
    assert "baseline revision" in untracked["message"]


@pytest.mark.parametrize("server_database", ["postgresql"], indirect=True)
def test_the_version_table_in_the_search_path_schema_is_not_untracked(
    tmp_path: Path, server_database: Database
) -> None:
    # Netflix/dispatch's env.py sets the search_path to its schema (dispatch_core, or each
    # tenant's) and leaves version_table_schema unset, so alembic_version lands there; its
    # revisions name that schema too (op.add_column("plugin", ..., schema="dispatch_core")),
    # so migdoctor reads it, and listed the version table as a table no revision creates.
    # (PostgreSQL's search_path; SQLite has none, and MySQL's USE changes the database.)
    blog = copy_project("blog", tmp_path / "project", server_database)
    server_database.execute("CREATE SCHEMA tenant_a")
    env_py_sets_search_path(blog, "tenant_a")
    add_revision(
        blog,
        "4e5f60718293",
        COMMENT,
        "op.create_table('audit', sa.Column('id', sa.Integer(), primary_key=True),\n"
        "    schema='tenant_a')",
        "op.drop_table('audit', schema='tenant_a')",
        message="create audit table",
    )
    # the pending revisions name tables with and without a schema: the preflight's look for
    # sessions holding them sorted (None, name) with (schema, name) and failed
    upgraded = blog.migdoctor("upgrade")
    assert upgraded.exit_code == 0, upgraded
    # read back on a connection of its own, without env.py's search_path: "no revision" before
    assert "the database is now at 4e5f60718293." in upgraded.stdout
    assert server_database.scalars(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'tenant_a'"
        " AND table_name = 'alembic_version'"
    ) == ["alembic_version"]

    _, document = blog.check_json()

    # the history creates user, article and comment unqualified (so in tenant_a) and
    # tenant_a.audit: before, the version table and those tables were "untracked"
    assert "untracked-schema" not in checks_found(document), document
    drift = finding(document, "schema-drift")  # audit is in no model, as alembic check says
    assert [d["table"] for d in drift["evidence"]["differences"]] == ["audit"]
    downgraded = blog.migdoctor("downgrade", "-1")
    assert "the database is now at 3c4d5e6f7081." in downgraded.stdout, downgraded
