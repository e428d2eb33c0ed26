"""A Flask-Migrate project, as `flask db init/migrate` leaves it: alembic.ini inside migrations/
without script_location, and an env.py that needs the Flask application."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tests.conftest import Database
from tests.helpers import copy_project, finding, migdoctor_command, run

USERS = "ff2152a90c3c"


def flask_db(root: Path, url: str, *args: str) -> None:
    result = run(
        [sys.executable, "-m", "flask", "db", *args],
        root,
        env={"FLASK_APP": "app", "DATABASE_URL": url},
    )
    assert result.exit_code == 0, result


def test_checks_and_repairs_a_flask_migrate_project(tmp_path: Path, database: Database) -> None:
    project = copy_project("flask_app", tmp_path / "app", None)
    flask_db(project.root, database.url, "upgrade")
    environment = {"DATABASE_URL": database.url}

    healthy = project.migdoctor("check", "--format", "json", env=environment)

    assert healthy.exit_code == 0, healthy
    assert healthy.json()["project"]["config_file"] == str(
        project.root / "migrations" / "alembic.ini"
    )
    assert healthy.json()["database"]["current"] == [USERS]
    database.execute("DELETE FROM alembic_version")
    broken = project.migdoctor("check", "--format", "json", env=environment)
    assert broken.exit_code == 1
    assert finding(broken.json(), "table-exists")["evidence"]["verified_applied"] == USERS
    fixed = project.migdoctor("fix", "stamp", "--yes", env=environment)
    assert fixed.exit_code == 0, fixed
    assert database.version_rows() == [USERS]


def test_without_the_application_says_how_to_find_it(tmp_path: Path) -> None:
    project = copy_project("flask_app", tmp_path / "app", None)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    result = run(
        [*migdoctor_command(), "-c", str(project.root / "migrations" / "alembic.ini"), "check"],
        elsewhere,
    )

    assert result.exit_code == 2, result
    assert "needs the Flask application (Flask-Migrate)" in result.stderr
    assert "FLASK_APP" in result.stderr
    assert "Traceback" not in result.output


def test_the_application_named_in_flaskenv_is_found(tmp_path: Path, database: Database) -> None:
    # FLASK_APP only in .flaskenv, as `flask db` reads it (with python-dotenv installed), and an
    # application module flask would not find by its name alone
    project = copy_project("flask_app", tmp_path / "app", None)
    (project.root / "app.py").rename(project.root / "library.py")
    (project.root / ".flaskenv").write_text("FLASK_APP=library\n")
    (project.root / ".env").write_text(f"DATABASE_URL={database.url}\n")
    upgraded = run([sys.executable, "-m", "flask", "db", "upgrade"], project.root)
    assert upgraded.exit_code == 0, upgraded

    result = project.migdoctor("check", "--format", "json")

    assert result.exit_code == 0, result
    assert result.json()["database"]["current"] == [USERS]


# ihatemoney (github.com/spiral-project/ihatemoney) keeps "script_location = ." in its
# migrations/alembic.ini: right for `flask db`, which sets script_location to that folder in
# code whatever the file says, and for nothing else; migdoctor -c pointed at it failed with
# "Can't find Python file env.py"
def test_the_script_location_is_where_flask_migrate_puts_it(
    tmp_path: Path, database: Database
) -> None:
    project = copy_project("flask_app", tmp_path / "app", None)
    ini = project.root / "migrations" / "alembic.ini"
    ini.write_text(ini.read_text().replace("[alembic]\n", "[alembic]\nscript_location = .\n", 1))
    flask_db(project.root, database.url, "upgrade")
    environment = {"FLASK_APP": "app", "DATABASE_URL": database.url}

    for command in ("check", "current", "history"):
        result = project.migdoctor("-c", str(ini), command, env=environment)

        assert result.exit_code == 0, result
        assert USERS in result.stdout


def test_an_application_that_migrates_when_it_starts_is_not_migrated_by_check(
    tmp_path: Path, database: Database
) -> None:
    """ihatemoney's create_app() runs Flask-Migrate's upgrade() on every start. migdoctor loads
    the application (as flask db does) to run env.py: a check must still change nothing, and
    the database stays behind until migdoctor's own upgrade runs."""
    project = copy_project("flask_app", tmp_path / "app", None)
    app = project.root / "app.py"
    app.write_text(
        app.read_text() + "\n\nwith app.app_context():  # as ihatemoney does in create_app()\n"
        "    import flask_migrate\n\n    flask_migrate.upgrade()\n"
    )
    environment = {"DATABASE_URL": database.url}
    assert database.version_rows() == []

    checked = project.migdoctor("check", "--format", "json", env=environment)

    assert checked.exit_code == 1, checked
    assert "stale-current" in {f["check"] for f in checked.json()["findings"]}
    assert database.version_rows() == []  # loading the application migrated nothing
    assert "user" not in database.table_names()

    upgraded = project.migdoctor("upgrade", env=environment)

    assert upgraded.exit_code == 0, upgraded
    assert database.version_rows() == [USERS]


def test_a_migrations_folder_elsewhere_is_found(tmp_path: Path, database: Database) -> None:
    # Migrate(app, db, directory="db/migrations"): `flask db` reads it from the application;
    # migdoctor finds the one Flask-Migrate folder a level or two down
    project = copy_project("flask_app", tmp_path / "app", None)
    (project.root / "db").mkdir()
    (project.root / "migrations").rename(project.root / "db" / "migrations")
    app = project.root / "app.py"
    app.write_text(app.read_text().replace("Migrate(app, db)", 'Migrate(app, db, "db/migrations")'))
    flask_db(project.root, database.url, "upgrade")
    environment = {"FLASK_APP": "app", "DATABASE_URL": database.url}

    found = project.migdoctor("check", "--format", "json", env=environment)

    assert found.exit_code == 0, found
    assert found.json()["project"]["config_file"] == str(
        project.root / "db" / "migrations" / "alembic.ini"
    )
    assert found.json()["database"]["current"] == [USERS]

    # two such folders: which one is for the user to say
    shutil.copytree(project.root / "db", project.root / "old")
    ambiguous = project.migdoctor("check", env=environment)
    assert ambiguous.exit_code == 2, ambiguous
    assert "No Alembic configuration found" in ambiguous.stderr
    assert "migdoctor -c db/migrations/alembic.ini check" in " ".join(ambiguous.stderr.split())
    assert "Traceback" not in ambiguous.output
