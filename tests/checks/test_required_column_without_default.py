"""required-column-without-default: a pending NOT NULL column without a server default, added
to a table holding rows (an error where the database refuses it: PostgreSQL, SQLite; a warning
on MariaDB, which fills zeros) and to an empty one (a warning, an error on SQLite); with a server
default, nothing, online and offline. ``migdoctor upgrade`` refuses before running anything where
the database would refuse it (PostgreSQL and SQLite over rows; SQLite always), and runs it where
it would pass (an empty table; MariaDB, which fills the rows)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Database
from tests.helpers import COMMENT, PENDING, blog_with_users, pending_revision

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


def test_the_upgrade_preflight_refuses_it_over_rows(tmp_path: Path, database: Database) -> None:
    project = blog_with_users(tmp_path, database, 2_000)
    pending_revision(
        project,
        "op.create_table('tag', sa.Column('id', sa.Integer(), primary_key=True))\n"
        "op.add_column('user', sa.Column('nickname', sa.String(50), nullable=False))",
    )

    upgrade = project.migdoctor("upgrade", "head")

    if database.backend == "mysql":
        # MariaDB gives every existing row '' (a warning, not a refusal): the upgrade runs
        assert upgrade.exit_code == 0, upgrade
        assert database.version_rows() == [PENDING]
        assert database.scalars("SELECT COUNT(*) FROM user WHERE nickname = ''") == [2_000]
        return
    assert upgrade.exit_code == 1, upgrade
    assert "required-column-without-default" in upgrade.output
    assert "nothing was changed" in upgrade.output
    # nothing of the revision ran: not even the table it creates before the refused column
    assert database.version_rows() == [COMMENT]
    assert "nickname" not in database.column_names("user")
    assert "tag" not in database.table_names()


def test_the_upgrade_runs_it_on_an_empty_table(tmp_path: Path, database: Database) -> None:
    project = blog_with_users(tmp_path, database, 2_000)
    # SQLite refuses a NOT NULL column without a default even on an empty table: it gets one
    default = ", server_default='0'" if database.backend == "sqlite" else ""
    pending_revision(
        project,
        f"op.add_column('comment', sa.Column('score', sa.Integer(), nullable=False{default}))",
    )

    upgrade = project.migdoctor("upgrade", "head")

    assert upgrade.exit_code == 0, upgrade
    assert database.version_rows() == [PENDING]
    assert "score" in database.column_names("comment")
