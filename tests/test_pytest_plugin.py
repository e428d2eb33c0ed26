"""``pytest --migdoctor``: the real pytest, run in a copy of a fixture project, gains migdoctor's
items (offline checks, single head, round trip, models at head); they fail with migdoctor's
words, and without ``--migdoctor`` nothing is added and nothing heavy is imported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import COMMENT_FILE, Project, Result, copy_project, run

OFFLINE_CHECKS = (
    # the blast-radius checks read the head revisions offline
    "concurrent-index-in-transaction",
    "required-column-without-default",
    "blocking-index",
    "table-rewrite",
    "validating-constraint",
    "destructive-operation",
    "script-load-error",
    "missing-down-revision",
    "duplicate-revision",
    "branch-label-clash",
    "revision-cycle",
    "irreversible-downgrade",
    "placeholder-url",
)
ITEMS = (
    *(f"migdoctor::offline-check[{slug}]" for slug in OFFLINE_CHECKS),
    "migdoctor::single-head",
    "migdoctor::roundtrip",
    "migdoctor::models-match-head",
)


def pytest_in(project: Project, *arguments: str) -> Result:
    return run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *arguments],
        project.root,
        env={"PYTEST_ADDOPTS": ""},
    )


def test_a_healthy_project_passes_every_item(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "project", None)

    result = pytest_in(blog, "--migdoctor", "-v")

    assert result.exit_code == 0, result
    passed = [line.split(" PASSED")[0] for line in result.stdout.splitlines() if " PASSED" in line]
    assert passed == list(ITEMS)
    assert f"{len(ITEMS)} passed" in result.stdout
    assert not (blog.root / "blog.db").exists()  # the configured database was never made


@pytest.mark.parametrize("server_database", ["postgresql"], indirect=True)
def test_a_broken_project_fails_with_migdoctors_words(
    tmp_path: Path, server_database: Database
) -> None:
    notes = copy_project("notes", tmp_path / "project", None)
    label = notes.versions / "c3d4e5f6a7b8_create_label_table.py"
    (notes.versions / "c3d4e5f6a7b8_label_again.py").write_text(label.read_text())
    (notes.root / "pyproject.toml").write_text(
        f'[tool.migdoctor]\nscratch_url = "{server_database.url}"\n'
    )

    result = pytest_in(notes, "--migdoctor")

    assert result.exit_code == 1, result
    assert "FAILED migdoctor::offline-check[duplicate-revision]" in result.stdout
    assert "FAILED migdoctor::roundtrip" in result.stdout
    assert "Revision c3d4e5f6a7b8 is declared by 2 files" in result.stdout
    assert "Round trip on postgresql+psycopg://" in result.stdout  # the setting was read
    assert (
        "b2c3d4e5f6a7 (create note table, archive notebooks): downgrade does not restore the "
        "schema\n    - left behind: column notebook.archived (BOOLEAN NULL) is still there"
    ) in result.stdout
    assert f"2 failed, {len(ITEMS) - 2} passed" in result.stdout
    assert "Traceback" not in result.stdout and "pytest_plugin.py" not in result.stdout
    assert server_database.table_names() == set()


def test_a_failing_downgrade_and_drifting_models_are_two_failures(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "project", None)
    comment = blog.root / COMMENT_FILE
    comment.write_text(comment.read_text().replace("op.drop_table('comment')", "pass"))
    models = blog.root / "models.py"
    models.write_text(
        models.read_text().replace(
            "email = Column(", "nickname = Column(String(20))\n    email = Column("
        )
    )

    result = pytest_in(blog, "--migdoctor", "-k", "roundtrip or models")

    assert result.exit_code == 1, result
    assert "left behind: table comment is still there" in result.stdout
    assert "column user.nickname (VARCHAR(20)) is in the models but not in the database" in (
        result.stdout
    )
    assert "2 failed" in result.stdout and f"{len(ITEMS) - 2} deselected" in result.stdout


def test_settings_from_pyproject_and_the_option_that_wins(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "project", None)
    (blog.root / "pyproject.toml").write_text('[tool.migdoctor]\nconfig = "missing.ini"\n')

    wrong = pytest_in(blog, "--migdoctor", "-k", "single-head")
    right = pytest_in(blog, "--migdoctor", "-k", "single-head", "--migdoctor-config", "alembic.ini")

    assert wrong.exit_code == 1, wrong
    assert "migdoctor could not run:" in wrong.stdout and "missing.ini" in wrong.stdout
    assert right.exit_code == 0, right


def test_without_the_option_nothing_is_added_nor_imported(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "project", None)
    (blog.root / "test_plain.py").write_text(
        "import sys\n\n\ndef test_plain():\n"
        "    heavy = ('sqlalchemy', 'alembic', 'migdoctor.checks')\n"
        "    assert [m for m in heavy if m in sys.modules] == []\n"
    )

    result = pytest_in(blog, "-v")

    assert result.exit_code == 0, result
    assert "plugins: migdoctor" in result.stdout  # the plugin is loaded, and idle
    assert "collected 1 item" in result.stdout
    assert "migdoctor::" not in result.stdout


def test_importing_the_plugin_imports_nothing_heavy(tmp_path: Path) -> None:
    result = run(
        [
            sys.executable,
            "-c",
            "import sys, migdoctor.pytest_plugin\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'alembic', 'rich', 'typer', 'migdoctor')))",
        ],
        tmp_path,
    )

    assert result.exit_code == 0, result
    assert result.stdout.strip() == "['migdoctor', 'migdoctor.pytest_plugin']"
