"""untracked-schema: tables no revision accounts for, put into a real database on every backend and
diagnosed through the installed CLI."""

from __future__ import annotations

from tests.conftest import Database
from tests.helpers import (
    APP_TABLES_AT_HEAD,
    ARTICLE,
    Project,
    app_created_tables_history,
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
