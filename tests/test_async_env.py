"""An async env.py (``alembic init -t async``, what FastAPI projects use) on every backend, with
its async driver: aiosqlite, aiomysql, psycopg's async mode.

Such an engine connects only inside SQLAlchemy's greenlet, which env.py opens while it runs;
what migdoctor reads after env.py returned (the version table after a run, the sessions in the
way of a failed one, a scratch database) must still work. Before the fix, ``migdoctor upgrade``
migrated and then crashed with MissingGreenlet, and ``roundtrip`` refused the project."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from tests.conftest import Database
from tests.helpers import Project, checks_found, copy_project, overlay

ASYNC_DRIVERS = {"sqlite": "aiosqlite", "mysql": "aiomysql", "postgresql": "psycopg_async"}
HEAD = "3c4d5e6f7081"


def async_blog(tmp_path: Path, database: Database) -> Project:
    project = copy_project("blog", tmp_path / "project", database)
    overlay(project, "async_env")
    url = make_url(database.url)
    async_url = url.set(drivername=f"{url.get_backend_name()}+{ASYNC_DRIVERS[database.backend]}")
    project.set_url(async_url.render_as_string(hide_password=False))
    return project


def test_an_async_env_py_is_checked_migrated_undone_and_round_tripped(
    tmp_path: Path, database: Database
) -> None:
    blog = async_blog(tmp_path, database)

    upgraded = blog.migdoctor("upgrade", "head")
    assert upgraded.exit_code == 0, upgraded
    assert f"the database is now at {HEAD}" in upgraded.stdout
    assert "Traceback" not in upgraded.output and "unexpected error" not in upgraded.output
    assert database.version_rows() == [HEAD]

    code, document = blog.check_json()
    assert (code, document["findings"]) == (0, []), document["findings"]
    assert document["database"]["schema"]["matches"] == [HEAD]

    downgraded = blog.migdoctor("downgrade", "-1")
    assert downgraded.exit_code == 0, downgraded
    assert "comment" not in database.table_names()
    code, document = blog.check_json()
    assert code == 1 and "stale-current" in checks_found(document), document["findings"]
    fixed = blog.migdoctor("fix", "upgrade", "--yes")
    assert fixed.exit_code == 0, fixed
    assert database.version_rows() == [HEAD]
    undone = blog.migdoctor("undo", "--yes")
    assert undone.exit_code == 0, undone
    assert "comment" not in database.table_names()
    assert database.version_rows() == ["2b3c4d5e6f70"]

    # the scratch database is a SQLite file opened with aiosqlite, as env.py's engine needs
    tripped = blog.migdoctor("roundtrip")
    assert tripped.exit_code == 0, tripped
    assert "Every downgrade undoes its upgrade" in tripped.stdout


def test_a_failed_async_upgrade_is_read_back(tmp_path: Path, database: Database) -> None:
    blog = async_blog(tmp_path, database)
    assert blog.migdoctor("upgrade", "head").exit_code == 0
    (blog.versions / "4d5e6f708192_broken.py").write_text(
        '"""broken\n\nRevision ID: 4d5e6f708192\nRevises: 3c4d5e6f7081\n"""\n'
        "from alembic import op\n\n"
        "revision = '4d5e6f708192'\ndown_revision = '3c4d5e6f7081'\n"
        "branch_labels = None\ndepends_on = None\n\n\n"
        "def upgrade():\n    op.execute('SELECT * FROM no_such_table')\n\n\n"
        "def downgrade():\n    pass\n"
    )

    failed = blog.migdoctor("upgrade", "head", "--no-preflight")

    assert failed.exit_code == 1, failed
    assert "Revision 4d5e6f708192 (broken) failed" in failed.output
    assert f"Read back: the version table holds {HEAD}" in failed.output
    assert "Traceback" not in failed.output and "unexpected error" not in failed.output
    assert database.version_rows() == [HEAD]
