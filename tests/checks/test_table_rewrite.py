"""table-rewrite: type changes each database cannot make in place, and (PostgreSQL) a column
added with a volatile default, on a table of tens of thousands of rows, are warnings; widening
a varchar is not (PostgreSQL, and MariaDB within the same length bytes)."""

from __future__ import annotations

from pathlib import Path

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
