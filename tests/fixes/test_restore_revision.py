"""restore-revision: a revision file deleted in a commit, found in the project's own git
repository and written back, on every backend."""

from __future__ import annotations

import pytest

from tests.conftest import Database
from tests.helpers import (
    ARTICLE,
    ARTICLE_FILE,
    COMMENT,
    COMMENT_FILE,
    Project,
    finding,
    git,
    git_repository,
    journal,
)


def test_a_revision_deleted_in_a_commit_is_found_and_written_back(
    blog: Project, database: Database
) -> None:
    git_repository(blog)
    blog.upgrade("head")
    original = (blog.root / COMMENT_FILE).read_bytes()
    last_with_it = git(blog, "rev-parse", "--short", "HEAD")
    git(blog, "rm", "-q", COMMENT_FILE)
    git(blog, "commit", "-q", "-m", "remove the comment migration")
    deleting = git(blog, "rev-parse", "--short", "HEAD")
    assert "Can't locate revision identified by" in blog.alembic("current").output

    code, document = blog.check_json()

    assert code == 1
    unknown = finding(document, "unknown-revision")
    found = unknown["evidence"]["git"]["revisions"][COMMENT]
    assert found["status"] == "deleted"
    assert found["path"] == COMMENT_FILE
    assert found["removed_by"]["sha"] == deleting
    assert found["removed_by"]["author"] == "Ada Tester"
    assert found["removed_by"]["subject"] == "remove the comment migration"
    assert found["last_with_it"]["sha"] == last_with_it
    assert found["down_revisions"] == [ARTICLE]
    assert found["missing_ancestors"] == []
    assert f"{COMMENT_FILE}, deleted in commit {deleting} (Ada Tester" in unknown["message"]
    assert f"the last commit that had it is {last_with_it}" in unknown["message"]
    restore = unknown["fixes"][0]
    assert (restore["id"], restore["recommended"]) == ("restore-revision", True)
    assert restore["command"] == f"migdoctor fix restore-revision --revision {COMMENT}"

    fixed = blog.migdoctor("fix", "restore-revision", "--yes")

    assert fixed.exit_code == 0, fixed
    assert (blog.root / COMMENT_FILE).read_bytes() == original
    current = blog.alembic("current")
    assert current.exit_code == 0, current
    assert COMMENT in current.output
    started, applied = journal(blog)
    assert started["plan"]["files"][0]["before_base64"] is None  # a file it created
    assert applied["event"] == "applied"

    undone = blog.migdoctor("undo", "--yes")

    assert undone.exit_code == 0, undone
    assert not (blog.root / COMMENT_FILE).exists()
    assert database.version_rows() == [COMMENT]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_deleted_chain_is_restored_with_its_ancestors(blog: Project, database: Database) -> None:
    git_repository(blog)
    blog.upgrade("head")
    git(blog, "rm", "-q", ARTICLE_FILE, COMMENT_FILE)
    git(blog, "commit", "-q", "-m", "remove two migrations")

    _, document = blog.check_json()
    alone = blog.migdoctor("fix", "restore-revision", "--dry-run")
    fixed = blog.migdoctor("fix", "restore-revision", "--with-ancestors", "--yes")

    unknown = finding(document, "unknown-revision")
    assert unknown["evidence"]["git"]["revisions"][COMMENT]["missing_ancestors"] == [ARTICLE]
    assert f"Its down_revision {ARTICLE} is missing from the scripts too" in unknown["message"]
    assert "--with-ancestors restores the whole chain" in alone.stdout
    assert fixed.exit_code == 0, fixed
    assert (blog.root / ARTICLE_FILE).exists() and (blog.root / COMMENT_FILE).exists()
    assert blog.alembic("current").exit_code == 0
