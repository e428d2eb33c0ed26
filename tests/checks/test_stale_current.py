"""stale-current: the database behind the head, put into a real database on every backend and
diagnosed through the installed CLI."""

from __future__ import annotations

from tests.conftest import Database
from tests.helpers import (
    ARTICLE,
    COMMENT,
    USER,
    Project,
    checks_found,
    finding,
)


def test_database_behind_head_is_stale_current(blog: Project) -> None:
    blog.upgrade(USER)

    code, document = blog.check_json()

    assert code == 1
    assert checks_found(document) == {"stale-current"}
    stale = finding(document, "stale-current")
    assert stale["code"] == "MD101"
    assert stale["severity"] == "error"
    assert stale["evidence"]["current"] == [USER]
    assert stale["evidence"]["heads"] == [COMMENT]
    assert [(p["revision"], p["message"]) for p in stale["evidence"]["pending"]] == [
        (ARTICLE, "create article table"),
        (COMMENT, "add comment table"),
    ]
    assert [fix["id"] for fix in stale["fixes"]] == ["upgrade"]
    assert stale["fixes"][0]["command"] == "migdoctor fix upgrade"


def test_fresh_empty_database_is_only_behind(blog: Project, database: Database) -> None:
    if database.backend == "sqlite":
        database.execute("CREATE TABLE placeholder (id INTEGER)")
        database.execute("DROP TABLE placeholder")

    code, document = blog.check_json()

    assert code == 1
    assert checks_found(document) == {"stale-current"}
    stale = finding(document, "stale-current")
    assert [p["revision"] for p in stale["evidence"]["pending"]] == [USER, ARTICLE, COMMENT]
