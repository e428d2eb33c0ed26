"""set-not-null: a pending alter_column(nullable=False) over a column where rows hold NULL is an
error that counts them (and the upgrade preflight refuses it); once they are filled, PostgreSQL
still gets a warning (a full scan under ACCESS EXCLUSIVE), MariaDB and SQLite nothing."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Database
from tests.helpers import (
    COMMENT,
    NICKNAME,
    add_revision,
    blog_with_users,
    finding,
    pending_revision,
)

USERS = 20_000


def test_nulls_in_a_column_made_not_null_are_counted(tmp_path: Path, database: Database) -> None:
    project = blog_with_users(tmp_path, database, USERS)
    add_revision(
        project,
        NICKNAME,
        COMMENT,
        "op.add_column('user', sa.Column('nickname', sa.String(50), nullable=True))",
        message="add nickname",
    )
    project.upgrade("head")
    user = '"user"' if database.backend != "mysql" else "user"
    database.execute(f"UPDATE {user} SET nickname = username WHERE id > 123")
    path = pending_revision(
        project, "op.alter_column('user', 'nickname', nullable=False)", NICKNAME
    )

    code, report = project.check_json()

    assert code == 1
    found = finding(report, "set-not-null")
    assert (found["code"], found["severity"]) == ("MD404", "error")
    assert found["evidence"]["nulls"] == 123
    assert found["evidence"]["fails"] is True
    assert found["evidence"]["table"] == "user"
    assert found["evidence"]["rows"] >= USERS * 0.9
    operation = "    op.alter_column('user', 'nickname', nullable=False)"
    line = path.read_text().splitlines().index(operation)
    assert found["locations"] == [{"path": str(path.relative_to(project.root)), "line": line + 1}]

    refused = project.migdoctor("upgrade", "head")

    assert refused.exit_code == 1, refused
    assert "set-not-null" in refused.output and "nothing was changed" in refused.output
    assert database.version_rows() == [NICKNAME]

    database.execute(f"UPDATE {user} SET nickname = username WHERE nickname IS NULL")
    code, report = project.check_json()

    fired = [f for f in report["findings"] if f["check"] == "set-not-null"]
    if database.backend == "postgresql":
        assert [f["severity"] for f in fired] == ["warning"]
        assert fired[0]["evidence"]["lock"] == "ACCESS EXCLUSIVE"
        assert fired[0]["evidence"]["blocks"] == "reads and writes"
        assert fired[0]["evidence"]["nulls"] == 0
    else:
        assert fired == []
