"""type-change-without-cast: on PostgreSQL a pending alter_column to a type with no automatic
conversion from the live column's type (VARCHAR to INTEGER) and no postgresql_using is an error
the upgrade preflight refuses; with postgresql_using, or to a type PostgreSQL converts to by
itself (a longer VARCHAR, TEXT), nothing fires. MariaDB and SQLite convert (or keep) what they
can: nothing fires there."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import NICKNAME, blog_with_nicknames, pending_revision

USERS = 50


@pytest.mark.parametrize(
    ("change", "fires"),
    [
        ("type_=sa.Integer()", True),
        ("type_=sa.Integer(), postgresql_using='nickname::integer'", False),
        ("type_=sa.String(100)", False),
        ("type_=sa.Text()", False),
    ],
)
def test_a_type_postgresql_cannot_convert_to_is_refused_before_the_upgrade(
    tmp_path: Path, database: Database, change: str, fires: bool
) -> None:
    project = blog_with_nicknames(tmp_path, database, USERS)
    pending_revision(
        project,
        f"op.alter_column('user', 'nickname', existing_type=sa.String(50), {change})",
        NICKNAME,
    )

    _, report = project.check_json()

    found = [f for f in report["findings"] if f["check"] == "type-change-without-cast"]
    expected = fires and database.backend == "postgresql"
    assert bool(found) == expected, report["findings"]
    if not expected:
        return
    (finding,) = found
    assert (finding["code"], finding["severity"]) == ("MD410", "error")
    assert finding["evidence"]["from_type"] == "character varying(50)"
    assert finding["evidence"]["to_type"] == "INTEGER"
    assert "postgresql_using" in finding["message"]

    refused = project.migdoctor("upgrade")

    assert refused.exit_code == 1, refused
    assert "type-change-without-cast" in refused.output
    assert database.version_rows() == [NICKNAME]  # nothing ran


def test_a_column_changed_to_an_enum_the_upgrade_makes_is_refused_before_it(
    tmp_path: Path, database: Database
) -> None:
    # ihatemoney (spiral-project/ihatemoney): a VARCHAR column becomes an ENUM the same upgrade
    # creates first; the type does not exist yet when migdoctor looks, and PostgreSQL converts
    # nothing to an ENUM by itself
    project = blog_with_nicknames(tmp_path, database, USERS)
    pending_revision(
        project,
        "level = sa.Enum('low', 'high', name='level')\n"
        "level.create(op.get_bind(), checkfirst=True)\n"
        "op.alter_column('user', 'nickname', existing_type=sa.String(50), type_=level)",
        NICKNAME,
    )

    _, report = project.check_json()

    found = [f for f in report["findings"] if f["check"] == "type-change-without-cast"]
    if database.backend != "postgresql":
        assert found == [], found
        return
    (finding,) = found
    assert finding["evidence"]["to_type"] == "level", finding
    assert "postgresql_using" in finding["message"]
    refused = project.migdoctor("upgrade")
    assert refused.exit_code == 1, refused
    assert database.version_rows() == [NICKNAME]  # nothing ran
    # and the refusal is right: alembic itself fails there
    failed = project.alembic("upgrade", "head")
    assert failed.exit_code != 0
    assert "cannot be cast automatically" in failed.output
