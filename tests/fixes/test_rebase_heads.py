"""The rebase-heads fix: the branch no database ran is put after the other head (one
down_revision rewritten), refused for a branch this database or the journal shows was run, and
undone byte for byte. Through the installed CLI on every backend."""

from __future__ import annotations

from tests.conftest import Database
from tests.helpers import (
    ARTICLE,
    COMMENT,
    COMMENT_FILE,
    TAG,
    TAG_FILE,
    Project,
    add_tag_revision,
    finding,
)


def test_the_branch_that_never_ran_goes_after_the_other(blog: Project, database: Database) -> None:
    add_tag_revision(blog, ARTICLE)  # a second head beside the comment revision
    blog.upgrade(COMMENT)
    tag = blog.root / TAG_FILE
    original = tag.read_bytes()
    _, document = blog.check_json()
    offered = [fix["id"] for fix in finding(document, "multiple-heads")["fixes"]]
    assert offered == ["merge-heads", "rebase-heads"]

    result = blog.migdoctor("fix", "rebase-heads", "--yes")

    assert result.exit_code == 0, result
    assert f"Put {TAG} after {COMMENT}" in result.stdout
    assert f"+down_revision = '{COMMENT}'" in result.stdout
    assert f"Revises: {COMMENT}" in tag.read_text()
    assert original.replace(ARTICLE.encode(), COMMENT.encode()) == tag.read_bytes()
    undone = blog.migdoctor("undo", "--yes")
    assert undone.exit_code == 0, undone
    assert tag.read_bytes() == original
    # again, then the upgrade runs the moved branch after the head the database is at
    assert blog.migdoctor("fix", "rebase-heads", "--yes").exit_code == 0
    blog.upgrade()
    assert database.version_rows() == [TAG]
    assert {"comment", "tag"} <= set(database.table_names())


def test_a_branch_the_database_ran_does_not_move(blog: Project, database: Database) -> None:
    add_tag_revision(blog, ARTICLE)
    blog.upgrade(TAG)
    tag_before = (blog.root / TAG_FILE).read_bytes()

    refused = blog.migdoctor("fix", "rebase-heads", "--revision", TAG, "--yes")

    assert refused.exit_code == 1, refused
    assert f"{TAG} of the branch of {TAG} was already run" in refused.stdout
    assert (blog.root / TAG_FILE).read_bytes() == tag_before
    # by default the other branch, which never ran here, is the one that moves
    moved = blog.migdoctor("fix", "rebase-heads", "--yes")
    assert moved.exit_code == 0, moved
    assert f"Revises: {TAG}" in (blog.root / COMMENT_FILE).read_text()
    blog.upgrade()
    assert database.version_rows() == [COMMENT]


def test_a_branch_the_journal_saw_run_does_not_move(blog: Project, database: Database) -> None:
    # the tag branch was written while the comment revision was not here yet, run by
    # migdoctor (journaled), downgraded by hand; then the comment revision came back
    comment = blog.root / COMMENT_FILE
    kept = comment.read_bytes()
    add_tag_revision(blog, ARTICLE)  # written from the comment revision
    comment.unlink()
    blog.upgrade(ARTICLE)
    ran = blog.migdoctor("fix", "upgrade", "--yes")
    assert ran.exit_code == 0, ran
    assert blog.alembic("downgrade", ARTICLE).exit_code == 0
    comment.write_bytes(kept)

    refused = blog.migdoctor("fix", "rebase-heads", "--revision", TAG, "--yes")

    assert refused.exit_code == 1, refused
    assert f"{TAG} of the branch of {TAG} was already run (journal entry" in refused.stdout
