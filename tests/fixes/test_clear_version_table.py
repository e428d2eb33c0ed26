"""The clear-version-table fix: empties the version table, says what that means and what is
recommended instead, and is undone; through the installed CLI on every backend."""

from __future__ import annotations

from tests.conftest import Database
from tests.helpers import (
    COMMENT,
    Project,
)


def test_clear_version_table_warns_and_is_undoable(blog: Project, database: Database) -> None:
    blog.upgrade("head")

    result = blog.migdoctor("fix", "clear-version-table", "--yes")

    assert result.exit_code == 0, result
    assert "re-runs every migration" in result.stdout
    assert f"migdoctor fix stamp --revision {COMMENT}" in result.stdout  # recommended instead
    assert database.version_rows() == []
    assert blog.migdoctor("undo", "--yes").exit_code == 0
    assert database.version_rows() == [COMMENT]
