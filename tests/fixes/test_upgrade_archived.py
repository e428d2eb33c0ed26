"""upgrade-archived: a database behind a squash runs the archived revisions up to the squashed
one and then continues with the history; undo passes over it (it cannot be taken back). Through
the installed CLI on every backend."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Database
from tests.helpers import SQUASH_HEAD, SQUASH_UP_TO, behind_a_squash


def test_upgrade_archived_brings_the_database_to_the_squash(
    tmp_path: Path, database: Database
) -> None:
    project = behind_a_squash(tmp_path, database)

    fixed = project.migdoctor("fix", "upgrade-archived", "--yes")

    assert fixed.exit_code == 0, fixed
    assert database.version_rows() == [SQUASH_UP_TO]
    assert {"writer", "post", "tag"} <= database.table_names()
    assert "author" not in database.table_names()  # the archived rename ran
    assert f"{SQUASH_UP_TO}" in project.alembic("current").stdout
    upgraded = project.migdoctor("upgrade")
    assert upgraded.exit_code == 0, upgraded
    assert database.version_rows() == [SQUASH_HEAD]
    assert project.check_json()[0] == 0
    undo = project.migdoctor("undo", "--yes")
    assert "cannot be undone" in undo.stdout
    assert database.version_rows() == [SQUASH_HEAD]
