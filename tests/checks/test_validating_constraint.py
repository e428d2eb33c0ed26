"""validating-constraint: on PostgreSQL a check constraint added to a table of tens of thousands
of rows is a warning naming the lock; added NOT VALID, or to a small table, it is not; MariaDB
gets nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import blog_with_users, finding, pending_revision

USERS = 20_000
CONSTRAINTS = """
op.create_check_constraint('ck_user_email', 'user', "email <> ''")
op.create_check_constraint('ck_user_name', 'user', "username <> ''", postgresql_not_valid=True)
op.create_check_constraint('ck_comment_content', 'comment', "content <> ''")
"""


@pytest.mark.parametrize("server_database", ["postgresql", "mysql"], indirect=True)
def test_a_constraint_that_scans_a_big_table(tmp_path: Path, server_database: Database) -> None:
    project = blog_with_users(tmp_path, server_database, USERS)
    pending_revision(project, CONSTRAINTS)

    code, report = project.check_json()

    assert code == 1  # stale-current: a revision is pending
    if server_database.backend == "mysql":
        assert "validating-constraint" not in {f["check"] for f in report["findings"]}
        return
    found = finding(report, "validating-constraint")
    assert (found["code"], found["severity"]) == ("MD406", "warning")
    assert found["evidence"]["operation"] == "create check constraint ck_user_email on user"
    assert (found["evidence"]["lock"], found["evidence"]["blocks"]) == (
        "ACCESS EXCLUSIVE",
        "reads and writes",
    )
    assert "postgresql_not_valid=True" in found["message"]
    assert "VALIDATE CONSTRAINT ck_user_email" in found["message"]
