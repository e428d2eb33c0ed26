"""version-table-overlap: a version table holding a revision and its ancestor, put into a real
database on every backend and diagnosed through the installed CLI. Repaired with
delete-ancestor-rows and undone."""

from __future__ import annotations

import json

from tests.conftest import Database
from tests.helpers import (
    ARTICLE,
    COMMENT,
    USER,
    Project,
    checks_found,
    finding,
)


def journal_events(project: Project) -> list[str]:
    path = project.root / ".migdoctor" / "journal.jsonl"
    return [json.loads(line)["event"] for line in path.read_text().splitlines()]


def test_version_table_overlap_is_repaired_and_undone(blog: Project, database: Database) -> None:
    blog.upgrade(ARTICLE)
    database.execute(f"INSERT INTO alembic_version (version_num) VALUES ('{USER}')")
    if database.backend == "sqlite":  # alembic's refusal comes from its revision map alone
        alembic = blog.alembic("upgrade", "head")
        assert f"Requested revision {ARTICLE} overlaps with other requested revisions {USER}" in (
            alembic.output
        )

    code, document = blog.check_json()

    assert code == 1
    assert checks_found(document) == {"version-table-overlap", "stale-current"}
    overlap = finding(document, "version-table-overlap")
    assert (overlap["code"], overlap["severity"]) == ("MD105", "error")
    assert overlap["evidence"]["overlaps"] == [
        {
            "ancestor": USER,
            "descendant": ARTICLE,
            "ancestor_message": "create user table",
            "descendant_message": "create article table",
            "lineage": [USER, ARTICLE],
        }
    ]
    assert overlap["evidence"]["redundant_rows"] == [USER]
    assert overlap["evidence"]["rows_after_repair"] == [ARTICLE]
    assert [fix["id"] for fix in overlap["fixes"]] == ["delete-ancestor-rows", "stamp"]
    assert overlap["fixes"][0]["command"] == "migdoctor fix delete-ancestor-rows"
    # pending is counted from the newest row, but alembic refuses: no upgrade is offered
    stale = finding(document, "stale-current")
    assert [p["revision"] for p in stale["evidence"]["pending"]] == [COMMENT]
    assert stale["fixes"] == []
    assert "see version-table-overlap" in stale["message"]

    fixed = blog.migdoctor("fix", "delete-ancestor-rows", "--yes")

    assert fixed.exit_code == 0, fixed
    assert f"DELETE FROM alembic_version WHERE alembic_version.version_num = '{USER}'" in (
        fixed.stdout
    )
    assert database.version_rows() == [ARTICLE]
    assert "next: migdoctor fix upgrade" in fixed.stdout  # the upgrade can go on now
    undone = blog.migdoctor("undo", "--yes")
    assert undone.exit_code == 0, undone
    assert database.version_rows() == sorted([USER, ARTICLE])
    assert journal_events(blog) == ["started", "applied", "started", "applied", "undone"]
