"""required-column-without-default: a pending NOT NULL column without a server default, added
to a table holding rows (an error where the database refuses it: PostgreSQL, SQLite; a warning
on MariaDB, which fills zeros) and to an empty one (a warning, an error on SQLite); with a server
default, nothing, online and offline."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Database
from tests.helpers import blog_with_users, pending_revision

USERS = 20_000


def test_new_not_null_columns_without_default(tmp_path: Path, database: Database) -> None:
    project = blog_with_users(tmp_path, database, USERS)
    path = pending_revision(
        project,
        "op.add_column('user', sa.Column('nickname', sa.String(50), nullable=False))\n"
        "op.add_column('comment', sa.Column('score', sa.Integer(), nullable=False))",
    )

    code, report = project.check_json()

    found = [f for f in report["findings"] if f["check"] == "required-column-without-default"]
    by_table = {f["evidence"]["table"]: f for f in found}
    assert sorted(by_table) == ["comment", "user"]
    user, comment = by_table["user"], by_table["comment"]
    assert user["code"] == "MD403"
    expected = {"sqlite": "error", "postgresql": "error", "mysql": "warning"}[database.backend]
    assert user["severity"] == expected
    assert user["evidence"]["rows"] >= USERS * 0.9
    assert comment["severity"] == ("error" if database.backend == "sqlite" else "warning")
    assert comment["evidence"]["rows"] == 0
    assert "server_default" in user["message"]
    assert code == 1

    _, offline = project.check_json("--offline")

    unknown = [f for f in offline["findings"] if f["check"] == "required-column-without-default"]
    # offline the rows are unknown: a warning each (SQLite refuses it always)
    expected = "error" if database.backend == "sqlite" else "warning"
    assert sorted((f["evidence"]["table"], f["severity"]) for f in unknown) == [
        ("comment", expected),
        ("user", expected),
    ]

    with_default = "nullable=False, server_default=sa.text(\"'0'\"))"
    path.write_text(path.read_text().replace("nullable=False)", with_default))
    code, report = project.check_json()
    _, offline = project.check_json("--offline")

    assert "required-column-without-default" not in {f["check"] for f in report["findings"]}
    assert "required-column-without-default" not in {f["check"] for f in offline["findings"]}
