"""The delete-ancestor-rows fix: it is applied and undone in
tests/checks/test_version_table_overlap.py; here, the plan warns when the schema does not show the
newer row's tables (the older row may be the true one), and the fix refuses without an overlap;
through the installed CLI on every backend."""

from __future__ import annotations

from tests.conftest import Database
from tests.helpers import ARTICLE, COMMENT, USER, Project, journal


def test_the_plan_warns_when_the_schema_does_not_show_the_newer_row(
    blog: Project, database: Database
) -> None:
    blog.upgrade(USER)
    # the article row written by mistake: its table does not exist
    database.execute(f"INSERT INTO alembic_version (version_num) VALUES ('{ARTICLE}')")

    shown = blog.migdoctor("fix", "delete-ancestor-rows", "--dry-run")

    assert shown.exit_code == 0, shown
    flat = " ".join(shown.stdout.split())
    assert f"Delete {USER} from alembic_version" in flat
    assert f"The schema does not show everything up to {ARTICLE}: table article" in flat
    assert f"migdoctor fix stamp --revision {USER} is the repair" in flat
    assert database.version_rows() == sorted([USER, ARTICLE])
    assert journal(blog) == []


def test_delete_ancestor_rows_refuses_without_an_overlap(blog: Project, database: Database) -> None:
    blog.upgrade("head")

    refused = blog.migdoctor("fix", "delete-ancestor-rows", "--yes")

    assert refused.exit_code == 1, refused
    assert "is an ancestor of another: nothing to delete" in refused.stdout
    assert database.version_rows() == [COMMENT]
    assert journal(blog) == []
