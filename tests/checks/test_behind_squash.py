"""behind-squash: a database at a revision migdoctor squash archived is diagnosed as such (and
not also as an unknown revision), through the installed CLI on SQLite and the servers."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Database
from tests.helpers import (
    SQUASH_BEHIND,
    SQUASH_UP_TO,
    behind_a_squash,
    checks_found,
    finding,
)


def test_a_database_at_an_archived_revision_is_behind_the_squash(
    tmp_path: Path, database: Database
) -> None:
    project = behind_a_squash(tmp_path, database)

    alembic = project.alembic("current")
    code, document = project.check_json()

    assert f"Can't locate revision identified by '{SQUASH_BEHIND}'" in alembic.output
    assert code == 1
    assert checks_found(document) == {"behind-squash"}  # not unknown-revision as well
    behind = finding(document, "behind-squash")
    assert behind["code"] == "MD110"
    assert behind["evidence"]["revision"] == SQUASH_BEHIND
    assert behind["evidence"]["squashed_up_to"] == SQUASH_UP_TO
    assert [fix["id"] for fix in behind["fixes"]] == ["upgrade-archived"]
