"""blocking-index: on PostgreSQL an index built without CONCURRENTLY on a table holding tens of
thousands of rows is a warning naming the SHARE lock and the table's size; a small table, a
table created in the same revision, a concurrent build and a line with an ignore comment are
not reported, nor is any table below ``large_table_rows`` of ``[tool.migdoctor]``; offline the
files alone tell it; MariaDB builds indexes online (nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import blog_with_users, finding, pending_revision

USERS = 30_000
INDEXES = """
op.create_index('ix_user_email_plain', 'user', ['email'])
op.create_index('ix_user_username_again', 'user', ['username'])  # migdoctor: ignore[MD401]
op.create_index('ix_comment_content', 'comment', ['content'])
op.create_table('tag', sa.Column('id', sa.Integer(), primary_key=True), sa.Column('n', sa.Text()))
op.create_index('ix_tag_n', 'tag', ['n'])
with op.get_context().autocommit_block():
    op.create_index('ix_user_email_online', 'user', ['email'], postgresql_concurrently=True)
"""


@pytest.mark.parametrize("server_database", ["postgresql", "mysql"], indirect=True)
def test_an_index_build_that_blocks_writes_on_a_big_table(
    tmp_path: Path, server_database: Database
) -> None:
    project = blog_with_users(tmp_path, server_database, USERS)
    pending_revision(project, INDEXES)

    code, report = project.check_json()

    assert code == 1  # stale-current: a revision is pending
    fired = [f for f in report["findings"] if f["check"] == "blocking-index"]
    if server_database.backend == "mysql":
        assert fired == []
        return
    found = finding(report, "blocking-index")
    assert (found["code"], found["severity"]) == ("MD401", "warning")
    assert found["evidence"]["operation"] == "create index ix_user_email_plain on user (email)"
    assert (found["evidence"]["lock"], found["evidence"]["blocks"]) == ("SHARE", "writes")
    assert USERS * 0.9 <= found["evidence"]["rows"] <= USERS * 1.1
    assert found["evidence"]["total_bytes"] > 1_000_000
    assert "postgresql_concurrently=True" in found["message"]

    (project.root / "pyproject.toml").write_text("[tool.migdoctor]\nlarge_table_rows = 50000\n")
    _, report = project.check_json()

    assert "blocking-index" not in {f["check"] for f in report["findings"]}

    (project.root / "pyproject.toml").unlink()
    _, report = project.check_json("--offline")

    offline = [
        f["evidence"]["operation"] for f in report["findings"] if f["check"] == "blocking-index"
    ]
    # offline nothing says the comment table is small: only the new table is exempt
    assert offline == [
        "create index ix_user_email_plain on user (email)",
        "create index ix_comment_content on comment (content)",
    ]
