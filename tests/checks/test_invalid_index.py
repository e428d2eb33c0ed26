"""invalid-index: the index a failed CREATE INDEX CONCURRENTLY leaves on PostgreSQL is named, with
its definition and the fix that drops it; through the installed CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import copy_project, finding, leave_an_invalid_index


@pytest.mark.parametrize("server_database", ["postgresql"], indirect=True)
def test_an_index_a_failed_concurrent_build_left_is_named(
    tmp_path: Path, server_database: Database
) -> None:
    blog = copy_project("blog", tmp_path / "project", server_database)
    blog.upgrade("head")
    _, healthy = blog.check_json()
    assert "invalid-index" not in {f["check"] for f in healthy["findings"]}
    leave_an_invalid_index(server_database)

    _, document = blog.check_json()

    invalid = finding(document, "invalid-index")
    assert invalid["severity"] == "warning" and invalid["code"] == "MD409"
    (index,) = invalid["evidence"]["indexes"]
    assert (index["name"], index["table"], index["unique"]) == ("ix_user_email", "user", True)
    assert "CREATE UNIQUE INDEX ix_user_email" in index["definition"]
    assert "a unique one still refuses duplicates" in invalid["message"]
    assert [fix["id"] for fix in invalid["fixes"]] == ["drop-invalid-indexes"]
