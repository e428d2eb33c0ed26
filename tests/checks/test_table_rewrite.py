"""table-rewrite: type changes each database cannot make in place, and (PostgreSQL) a column
added with a volatile default, on a table of tens of thousands of rows, are warnings; widening
a varchar is not (PostgreSQL, and MariaDB within the same length bytes). The verdict names the
server version it is for (MariaDB 10.11 and PostgreSQL 15 here; older versions in
tests/test_server_versions.py), and what that version does without a rewrite is no finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import blog_with_users, pending_revision

USERS = 20_000
CHANGES = """
op.alter_column('user', 'email', type_=sa.String(200), existing_type=sa.String(120))
op.alter_column('user', 'username', type_=sa.Text(), existing_type=sa.String(50))
op.alter_column('user', 'id', type_=sa.BigInteger(), existing_type=sa.Integer())
op.add_column('user', sa.Column('token', sa.Text(), server_default=sa.text('gen_random_uuid()')))
"""
EXPECTED = {
    "postgresql": ["add column user.token", "alter column user.id"],
    "mysql": ["alter column user.id", "alter column user.username"],
    "sqlite": ["alter column user.email", "alter column user.id", "alter column user.username"],
}


def test_type_changes_that_copy_the_table(tmp_path: Path, database: Database) -> None:
    project = blog_with_users(tmp_path, database, USERS)
    pending_revision(project, CHANGES)

    code, report = project.check_json()

    assert code == 1  # stale-current: a revision is pending
    found = [f for f in report["findings"] if f["check"] == "table-rewrite"]
    assert sorted(f["evidence"]["operation"] for f in found) == EXPECTED[database.backend]
    assert {(f["code"], f["severity"]) for f in found} == {("MD405", "warning")}
    assert all(f["evidence"]["rows"] >= USERS * 0.9 for f in found)
    assert "table-rewrite" in {f["check"] for f in found}
    server = {"postgresql": "PostgreSQL ", "mysql": "MariaDB ", "sqlite": "SQLite "}
    for finding in found:
        assert finding["evidence"]["server_version"].startswith(server[database.backend])
        assert f"(the verdict for {finding['evidence']['server_version']})" in finding["message"]
    if database.backend == "mysql":
        assert all("ALGORITHM=COPY" in f["message"] for f in found)


# what PostgreSQL 11+ and MariaDB 10.4+ do without writing a row: a column added with a constant
# default (PostgreSQL 11+: kept in the catalog; MariaDB 10.3+: INSTANT), a column dropped
# (MariaDB 10.4+: INSTANT), a varchar widened within its length bytes (MariaDB 10.4.3+: INSTANT)
NO_REWRITE = """
op.add_column('user', sa.Column('plan', sa.String(20), nullable=False, server_default='free'))
op.drop_column('user', 'username')
op.alter_column('user', 'email', type_=sa.String(200), existing_type=sa.String(120))
"""


@pytest.mark.parametrize("server_database", ["postgresql", "mysql"], indirect=True)
def test_what_this_server_version_does_without_a_rewrite(
    tmp_path: Path, server_database: Database
) -> None:
    project = blog_with_users(tmp_path, server_database, USERS)
    pending_revision(project, NO_REWRITE)

    code, report = project.check_json()

    assert code == 1  # stale-current: a revision is pending
    assert [f for f in report["findings"] if f["check"] == "table-rewrite"] == []
    dropped = [f for f in report["findings"] if f["check"] == "destructive-operation"]
    assert [f["evidence"]["operation"] for f in dropped] == ["drop column user.username"]
    assert report["database"]["server_version"].startswith(
        "PostgreSQL 15" if server_database.backend == "postgresql" else "MariaDB 10."
    )

    plan = project.migdoctor("plan", "--format", "json").json()

    steps = {s["kind"]: s for s in plan["revisions"][0]["operations"]}
    assert plan["server_version"] == report["database"]["server_version"]
    if server_database.backend == "mysql":
        assert steps["add_column"]["lock"] == "ALGORITHM=INSTANT (metadata only)"
        assert steps["drop_column"]["lock"] == "ALGORITHM=INSTANT (metadata only)"
        assert steps["alter_column"]["blocks"] == "nothing"
    else:
        assert steps["add_column"]["lock"] == "ACCESS EXCLUSIVE"
    assert all(s["hazards"] == [] for k, s in steps.items() if k != "drop_column")


@pytest.mark.parametrize("server_database", ["mysql"], indirect=True)
def test_mariadb_rebuilds_the_table_to_change_nullability(
    tmp_path: Path, server_database: Database
) -> None:
    project = blog_with_users(tmp_path, server_database, USERS)
    pending_revision(
        project, "op.alter_column('user', 'email', nullable=True, existing_type=sa.String(120))"
    )

    code, report = project.check_json()

    assert code == 1  # stale-current: a revision is pending
    [found] = [f for f in report["findings"] if f["check"] == "table-rewrite"]
    assert found["evidence"]["operation"] == "alter column user.email"
    assert found["evidence"]["blocks"] == "nothing"  # in place: reads and writes go on
    assert "makes email NULL" in found["message"]
    assert "rebuilds the table in place" in found["message"]
    assert found["evidence"]["server_version"].startswith("MariaDB 10.")
