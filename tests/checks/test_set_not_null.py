"""set-not-null: a pending alter_column(nullable=False) over a column where rows hold NULL is an
error that counts them (and the upgrade preflight refuses it); once they are filled, PostgreSQL
still gets a warning (a full scan under ACCESS EXCLUSIVE), MariaDB and SQLite nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Database
from tests.helpers import (
    NICKNAME,
    blog_with_nicknames,
    finding,
    pending_revision,
)

USERS = 20_000


def test_nulls_in_a_column_made_not_null_are_counted(tmp_path: Path, database: Database) -> None:
    project = blog_with_nicknames(tmp_path, database, USERS)
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


def _set_not_null_severities(project: Any) -> list[str]:
    _, report = project.check_json()
    return [f["severity"] for f in report["findings"] if f["check"] == "set-not-null"]


def test_a_valid_check_constraint_spares_the_postgresql_scan(
    tmp_path: Path, database: Database
) -> None:
    """PostgreSQL 12+ proves NOT NULL from a valid CHECK (c IS NOT NULL) and skips the scan:
    made by hand beforehand, or earlier in the upgrade as the warning's own recipe does (NOT
    VALID, then VALIDATE). A CHECK never validated, one dropped first, or one that proves
    something weaker (an OR) spares nothing. Elsewhere nothing fires in any case."""
    project = blog_with_nicknames(tmp_path, database, USERS)
    user = '"user"' if database.backend != "mysql" else "user"
    database.execute(f"UPDATE {user} SET nickname = username")
    postgresql = database.backend == "postgresql"
    alter = "op.alter_column('user', 'nickname', nullable=False)"
    recipe = (
        "op.create_check_constraint('nickname_not_null', 'user', 'nickname IS NOT NULL', "
        "postgresql_not_valid=True)\n"
        + (
            "op.execute('ALTER TABLE \"user\" VALIDATE CONSTRAINT nickname_not_null')\n"
            if postgresql
            else ""
        )
    )

    path = pending_revision(project, recipe + alter, NICKNAME)
    assert _set_not_null_severities(project) == []

    never_validated = (
        "op.create_check_constraint('nickname_not_null', 'user', 'nickname IS NOT NULL', "
        "postgresql_not_valid=True)\n" + alter
    )
    path.unlink()
    pending_revision(project, never_validated, NICKNAME)
    assert _set_not_null_severities(project) == (["warning"] if postgresql else [])

    if not postgresql:
        return
    path.unlink()
    pending_revision(project, alter, NICKNAME)
    assert _set_not_null_severities(project) == ["warning"]

    database.execute(
        'ALTER TABLE "user" ADD CONSTRAINT either_name '
        "CHECK (nickname IS NOT NULL OR email IS NOT NULL)"
    )
    assert _set_not_null_severities(project) == ["warning"]  # an OR proves neither

    database.execute(
        'ALTER TABLE "user" ADD CONSTRAINT "nick NN" CHECK (nickname IS NOT NULL AND id > 0)'
    )
    assert _set_not_null_severities(project) == []  # proven by a live, valid CHECK

    path.unlink()
    pending_revision(
        project, "op.drop_constraint('nick NN', 'user', type_='check')\n" + alter, NICKNAME
    )
    assert _set_not_null_severities(project) == ["warning"]  # dropped before it could spare it


@pytest.mark.parametrize(
    ("condition", "proven"),
    [
        ("CHECK ((nickname IS NOT NULL))", {"nickname"}),  # as pg_get_constraintdef writes it
        ("nickname is not null", {"nickname"}),  # as a revision writes it
        ("CHECK (((a IS NOT NULL) AND (b > 0)))", {"a"}),
        ("CHECK ((a IS NOT NULL) AND (b IS NULL OR c > 1))", {"a"}),
        ("a IS NOT NULL AND b IS NOT NULL", {"a", "b"}),
        ("CHECK (((a IS NOT NULL) OR (b IS NOT NULL)))", set()),  # an OR proves neither
        ("CHECK ((a > 0))", set()),  # a CHECK lets a NULL through
        ("NOT (a IS NOT NULL)", set()),
        ('CHECK (("Nick Name" IS NOT NULL)) NOT VALID', {"Nick Name"}),
        ("x = 'a AND b IS NOT NULL' AND y IS NOT NULL", {"y"}),  # words in a string are not SQL
    ],
)
def test_which_columns_a_check_proves_not_null(condition: str, proven: set[str]) -> None:
    from migdoctor.operations.not_null_proof import columns_proven_not_null

    assert columns_proven_not_null(condition) == proven
