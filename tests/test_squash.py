"""migdoctor squash on a history with renames, a type change, drops, a merge and data migrations
(fixtures/squash_history): proved on scratch databases of each backend, archived byte for byte,
and undone exactly; through the installed CLI."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.conftest import Database, another_database
from tests.helpers import SQUASH_HEAD as HEAD
from tests.helpers import SQUASH_UP_TO as UP_TO
from tests.helpers import Project, copy_project, schema_of, scratch_url_for


def squash_project(tmp_path: Path, database: Database) -> Project:
    project = copy_project("squash_history", tmp_path / "project", database)
    project.upgrade("head")
    return project


def files_of(project: Project) -> dict[str, str]:
    alembic = project.root / "alembic"
    return {
        str(path.relative_to(alembic)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(alembic.rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def test_squash_proves_archives_and_undo_restores(tmp_path: Path, database: Database) -> None:
    project = squash_project(tmp_path, database)
    before = files_of(project)
    schema = schema_of(database)

    undecided = project.migdoctor("squash", "--up-to", UP_TO, "--yes", *scratch_url_for(database))

    assert undecided.exit_code == 1, undecided
    assert "op.bulk_insert" in undecided.stdout and "op.execute" in undecided.stdout
    assert files_of(project) == before

    squashed = project.migdoctor(
        "squash", "--up-to", UP_TO, "--keep-data-migrations", "--yes", *scratch_url_for(database)
    )

    assert squashed.exit_code == 0, squashed
    assert "Proved on" in squashed.stdout
    kept = sorted(p.name for p in project.versions.glob("*.py"))
    assert kept == [f"{UP_TO}_squashed_up_to_{UP_TO}.py", f"{HEAD}_writer_email.py"]
    archive = project.root / "alembic" / "squashed" / UP_TO
    after = files_of(project)
    for name, digest in before.items():
        if name.startswith("versions/") and not name.startswith(f"versions/{HEAD}"):
            assert after[f"squashed/{UP_TO}/{Path(name).name}"] == digest  # byte for byte
    assert len(list(archive.glob("*.py"))) == 6
    assert f"{HEAD} (head)" in project.alembic("current").stdout
    assert database.version_rows() == [HEAD]
    assert project.check_json()[0] == 0
    with another_database(database, tmp_path) as fresh:
        built = project.alembic("upgrade", "head", env={"SQUASH_DATABASE_URL": fresh.url})
        assert built.exit_code == 0, built
        assert schema_of(fresh) == schema
        assert sorted(fresh.scalars("SELECT name FROM tag")) == ["howto", "news"]  # kept

    undone = project.migdoctor("undo", "--yes")

    assert undone.exit_code == 0, undone
    assert files_of(project) == before
    assert database.version_rows() == [HEAD]
