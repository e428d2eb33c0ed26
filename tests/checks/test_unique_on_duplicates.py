"""unique-on-duplicates: a pending unique index over a column whose values are duplicated today
or a unique constraint is an error that counts them and shows a few (NULLs aside); over
columns that hold no duplicate together, and once they are distinct, nothing. ``migdoctor
upgrade`` refuses it before running anything, and runs it once the values are distinct."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Database
from tests.helpers import (
    COMMENT,
    NICKNAME,
    PENDING,
    add_revision,
    blog_with_nicknames,
    blog_with_users,
    pending_revision,
)

USERS = 20_000


def test_a_unique_index_over_duplicates(tmp_path: Path, database: Database) -> None:
    project = blog_with_nicknames(tmp_path, database, USERS)
    user = "user" if database.backend == "mysql" else '"user"'
    database.execute(
        f"UPDATE {user} SET nickname = username WHERE id > 10",
        f"UPDATE {user} SET nickname = 'taken' WHERE id <= 3",
        f"UPDATE {user} SET nickname = 'other' WHERE id IN (4, 5)",
    )  # ids 6..10 stay NULL: a unique index allows them
    pending_revision(
        project,
        "op.create_index('ix_user_nickname', 'user', ['nickname'], unique=True)\n"
        "op.create_unique_constraint('uq_user_nickname', 'user', ['nickname'])\n"
        "op.create_unique_constraint('uq_user_nickname_email', 'user', ['nickname', 'email'])",
        NICKNAME,
    )

    code, report = project.check_json()

    assert code == 1
    fired = [f for f in report["findings"] if f["check"] == "unique-on-duplicates"]
    # the index and the constraint over nickname; (nickname, email) holds no duplicate
    assert [f["evidence"]["operation"] for f in fired] == [
        "create index ix_user_nickname on user (nickname)",
        "create unique constraint uq_user_nickname on user",
    ]
    found = fired[0]
    assert (found["check"], found["code"], found["severity"]) == (
        "unique-on-duplicates",
        "MD407",
        "error",
    )
    assert found["evidence"]["duplicate_values"] == 2
    assert found["evidence"]["duplicate_rows"] == 5
    assert found["evidence"]["examples"] == [["taken"], ["other"]]
    assert "taken" in found["message"]

    database.execute(f"UPDATE {user} SET nickname = username WHERE id <= 5")
    code, report = project.check_json()

    assert "unique-on-duplicates" not in {f["check"] for f in report["findings"]}


def test_the_upgrade_preflight_refuses_it_until_the_values_are_distinct(
    tmp_path: Path, database: Database
) -> None:
    project = blog_with_users(tmp_path, database, 2_000)
    add_revision(
        project,
        NICKNAME,
        COMMENT,
        "op.add_column('user', sa.Column('nickname', sa.String(50), nullable=True))",
        message="add nickname",
    )
    project.upgrade("head")
    user = "user" if database.backend == "mysql" else '"user"'
    database.execute(f"UPDATE {user} SET nickname = username WHERE id > 2")
    database.execute(f"UPDATE {user} SET nickname = 'taken' WHERE id <= 2")
    pending_revision(
        project,
        "op.create_table('tag', sa.Column('id', sa.Integer(), primary_key=True))\n"
        "op.create_index('ix_user_nickname', 'user', ['nickname'], unique=True)",
        NICKNAME,
    )
    indexes = database.index_names("user")

    upgrade = project.migdoctor("upgrade", "head")

    assert upgrade.exit_code == 1, upgrade
    assert "unique-on-duplicates" in upgrade.output and "taken" in upgrade.output
    assert "nothing was changed" in upgrade.output
    assert database.version_rows() == [NICKNAME]
    assert database.index_names("user") == indexes
    assert "tag" not in database.table_names()

    database.execute(f"UPDATE {user} SET nickname = username WHERE id <= 2")
    upgrade = project.migdoctor("upgrade", "head")

    assert upgrade.exit_code == 0, upgrade
    assert database.version_rows() == [PENDING]
    assert database.index_names("user") == indexes | {"ix_user_nickname"}
