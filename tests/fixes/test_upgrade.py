"""The upgrade fix: runs the pending revisions, and refuses an upgrade that would fail or a history
alembic cannot load; through the installed CLI on every backend, asserting on the database, the
files and the journal."""

from __future__ import annotations

from tests.conftest import Database
from tests.helpers import (
    COMMENT,
    USER,
    Project,
    article_by_hand,
)


def test_upgrade_fix_runs_pending_and_refuses_a_failing_upgrade(
    blog: Project, database: Database
) -> None:
    article_by_hand(blog, database)
    refused = blog.migdoctor("fix", "upgrade", "--yes")
    assert refused.exit_code == 1
    assert "would fail" in refused.stdout
    assert database.version_rows() == [USER]
    database.execute("DROP TABLE article")

    result = blog.migdoctor("fix", "upgrade", "--yes")

    assert result.exit_code == 0, result
    assert "✓ [1/2] 2b3c4d5e6f70 create article table" in result.stdout
    assert database.version_rows() == [COMMENT]
    assert "no problems found" in result.stdout
    undone = blog.migdoctor("undo", "--yes")
    assert undone.exit_code == 0, undone
    assert database.version_rows() == [USER]
    assert "comment" not in database.table_names()


def test_no_upgrade_over_a_history_alembic_cannot_load(blog: Project, database: Database) -> None:
    blog.upgrade(USER)
    (blog.versions / "9f9f9f9f9f9f_orphan.py").write_text(
        "revision = '9f9f9f9f9f9f'\ndown_revision = 'gone00000000'\n\n\ndef upgrade():\n    pass\n"
    )

    _, document = blog.check_json()
    refused = blog.migdoctor("fix", "upgrade", "--yes")

    stale = next(f for f in document["findings"] if f["check"] == "stale-current")
    assert stale["fixes"] == []
    assert "cannot upgrade until the history loads" in stale["message"]
    assert refused.exit_code == 1
    assert "missing-down-revision" in refused.stdout
    assert database.version_rows() == [USER]
