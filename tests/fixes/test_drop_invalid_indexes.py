"""The drop-invalid-indexes fix: DROP INDEX CONCURRENTLY for each index a failed concurrent build
left INVALID on PostgreSQL; undo passes over it (it cannot be undone); through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import checks_found, copy_project, journal, leave_an_invalid_index


@pytest.mark.parametrize("server_database", ["postgresql"], indirect=True)
def test_the_invalid_index_is_dropped_and_undo_passes_over_it(
    tmp_path: Path, server_database: Database
) -> None:
    database = server_database
    blog = copy_project("blog", tmp_path / "project", database)
    blog.upgrade("head")
    leave_an_invalid_index(database)

    fixed = blog.migdoctor("fix", "drop-invalid-indexes", "--yes")

    assert fixed.exit_code == 0, fixed
    assert 'DROP INDEX CONCURRENTLY IF EXISTS "public"."ix_user_email"' in fixed.stdout
    assert "CREATE UNIQUE INDEX ix_user_email" in fixed.stdout  # its definition, before consent
    indexes = database.scalars("SELECT indexname FROM pg_indexes WHERE tablename = 'user'")
    assert "ix_user_email" not in indexes
    _, after = blog.check_json()
    assert "invalid-index" not in checks_found(after)
    started = [r for r in journal(blog) if r["event"] == "started"][-1]
    assert "CREATE UNIQUE INDEX ix_user_email" in started["plan"]["index_drops"][0]["definition"]
    nothing = blog.migdoctor("fix", "drop-invalid-indexes", "--yes")
    assert nothing.exit_code == 0 and "nothing to drop" in nothing.stdout
    undone = blog.migdoctor("undo", "--yes")
    assert undone.exit_code == 0, undone
