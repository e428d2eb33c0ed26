"""concurrent-index-in-transaction: postgresql_concurrently=True outside autocommit_block() is
an error, online and offline, and the upgrade preflight refuses to start; inside the block,
nothing, and the upgrade builds the index."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import COMMENT, PENDING, blog_with_users, finding, pending_revision

CONCURRENT = "op.create_index('ix_user_email', 'user', ['email'], postgresql_concurrently=True)"


@pytest.mark.parametrize("server_database", ["postgresql"], indirect=True)
def test_a_concurrent_build_inside_the_transaction(
    tmp_path: Path, server_database: Database
) -> None:
    project = blog_with_users(tmp_path, server_database, 20_000)
    path = pending_revision(project, CONCURRENT)

    code, report = project.check_json()

    assert code == 1
    found = finding(report, "concurrent-index-in-transaction")
    assert (found["code"], found["severity"]) == ("MD402", "error")
    assert "autocommit_block" in found["message"]
    code, offline = project.check_json("--offline")
    assert finding(offline, "concurrent-index-in-transaction")["evidence"]["revision"] == PENDING

    refused = project.migdoctor("upgrade", "head")

    assert refused.exit_code != 0
    assert "concurrent-index-in-transaction" in refused.output
    assert server_database.version_rows() == [COMMENT]

    path.write_text(
        path.read_text().replace(
            f"    {CONCURRENT}",
            f"    with op.get_context().autocommit_block():\n        {CONCURRENT}",
        )
    )
    upgraded = project.migdoctor("upgrade", "head")

    assert upgraded.exit_code == 0, upgraded
    assert server_database.version_rows() == [PENDING]
    assert "ix_user_email" in server_database.scalars(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'user'"
    )
