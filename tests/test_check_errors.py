"""Mistakes a user can make end in one readable line and exit code 2: no traceback, no password."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import Project, copy_project, migdoctor_command, run

PASSWORD = "s3cret-Pw9"


def assert_one_line_failure(result, *expected: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result
    assert "Traceback" not in result.output, result
    assert result.stdout == "", result
    first = result.stderr.splitlines()[0]
    for text in expected:
        assert text in first, result
    assert PASSWORD not in result.output


@pytest.mark.parametrize(
    "url, where",
    [
        (f"mysql+pymysql://root:{PASSWORD}@127.0.0.1:1/shop", "mysql root@127.0.0.1:1/shop"),
        (
            f"postgresql+psycopg://app:{PASSWORD}@127.0.0.1:1/shop",
            "postgresql app@127.0.0.1:1/shop",
        ),
    ],
)
def test_unreachable_server_names_the_host(blog_offline: Project, url: str, where: str) -> None:
    result = blog_offline.migdoctor("check", "--url", url)

    assert_one_line_failure(result, "Cannot connect to", where)
    assert "refused" in result.stderr.lower()


def test_unreachable_server_in_the_ini_file(blog_offline: Project) -> None:
    blog_offline.set_url(f"mysql+pymysql://root:{PASSWORD}@127.0.0.1:1/shop")

    for command in (["check"], ["check", "--format", "json"], ["current"]):
        assert_one_line_failure(blog_offline.migdoctor(*command), "Cannot connect to")


def test_missing_sqlite_file_is_not_created(blog_offline: Project) -> None:
    result = blog_offline.migdoctor("check")

    assert_one_line_failure(result, "does not exist", str(blog_offline.root / "blog.db"))
    assert not (blog_offline.root / "blog.db").exists()


def test_placeholder_url_is_named(blog_offline: Project) -> None:
    blog_offline.set_url("driver://user:pass@localhost/dbname")

    result = blog_offline.migdoctor("check")

    assert_one_line_failure(result, "placeholder")


def test_missing_driver_is_named(blog_offline: Project) -> None:
    result = blog_offline.migdoctor("check", "--url", "postgresql+pg8000://u@127.0.0.1/x")

    assert_one_line_failure(result, "driver 'pg8000' is not installed")


def test_env_py_import_error_names_file_and_line(blog_offline: Project) -> None:
    env = blog_offline.root / "alembic" / "env.py"
    env.write_text(
        env.read_text().replace("import models  # noqa: E402", "import modelz  # noqa: E402")
    )

    result = blog_offline.migdoctor("check")

    assert_one_line_failure(
        result, "env.py failed at alembic/env.py:21", "No module named 'modelz'"
    )
    debug = blog_offline.migdoctor("check", "--debug")
    assert debug.exit_code == 2
    assert "Traceback" in debug.stderr


def test_error_deep_in_application_code_names_both_places(blog_offline: Project) -> None:
    (blog_offline.root / "settings.py").write_text(
        "import os\n\nDATABASE_URL = os.environ['BLOG_DB']\n"
    )
    models = blog_offline.root / "models.py"
    models.write_text("import settings  # noqa: F401\n" + models.read_text())

    result = blog_offline.migdoctor("check")

    assert_one_line_failure(
        result, "env.py failed at settings.py:3 (from alembic/env.py:21)", "KeyError: 'BLOG_DB'"
    )


def test_syntax_error_in_env_py(blog_offline: Project) -> None:
    env = blog_offline.root / "alembic" / "env.py"
    env.write_text(
        env.read_text().replace("target_metadata = models.Base.metadata", "target_metadata = (")
    )

    result = blog_offline.migdoctor("check")

    assert_one_line_failure(result, "alembic/env.py:", "SyntaxError")


def test_password_written_in_env_py_never_shows(blog_offline: Project) -> None:
    env = blog_offline.root / "alembic" / "env.py"
    env.write_text(
        env.read_text().replace(
            "target_metadata = models.Base.metadata",
            f'config.set_main_option("sqlalchemy.url", "mysql+pymysql://root:{PASSWORD}@127.0.0.1:1/x")\n'
            "target_metadata = models.Base.metadata",
        )
    )

    result = blog_offline.migdoctor("check", "--debug")

    assert result.exit_code == 2
    assert PASSWORD not in result.output


def test_no_configuration_found(tmp_path: Path) -> None:
    (tmp_path / "app" / "migrations").mkdir(parents=True)
    (tmp_path / "app" / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")

    result = run([*migdoctor_command(), "check"], tmp_path)

    assert_one_line_failure(result, "No Alembic configuration found")
    assert "app/alembic.ini" in result.stderr  # where one was found instead


def test_a_flask_alembic_project_is_told_what_migdoctor_needs(tmp_path: Path) -> None:
    # flaskbb's layout: Flask-Alembic configures alembic in code, no alembic.ini, no env.py
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "forum"\ndependencies = ["Flask-Alembic>=3.2.0"]\n'
    )
    (tmp_path / "forum" / "migrations").mkdir(parents=True)

    result = run([*migdoctor_command(), "check", "--offline"], tmp_path)

    assert_one_line_failure(result, "No Alembic configuration found")
    hint = " ".join(result.stderr.split())
    assert "uses Flask-Alembic" in hint
    assert "alembic init" in hint


def test_config_file_given_does_not_exist(blog_offline: Project) -> None:
    result = blog_offline.migdoctor("-c", "nope.ini", "check")

    assert_one_line_failure(result, "Config file 'nope.ini' not found")


def test_script_location_missing(blog_offline: Project) -> None:
    (blog_offline.root / "alembic").rename(blog_offline.root / "migrations")

    result = blog_offline.migdoctor("check", "--offline")

    assert_one_line_failure(result, "script_location", "does not exist")


def test_unknown_check_slug_is_usage_error(blog_offline: Project) -> None:
    result = blog_offline.migdoctor("check", "--offline", "--select", "no-such-check")

    assert_one_line_failure(result, "Unknown check no-such-check")


@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_password_is_masked_in_reports(tmp_path: Path, server_database: Database) -> None:
    """A URL with a password: the reports show ***, never the password."""
    from sqlalchemy.engine import make_url

    url = make_url(server_database.url)
    if server_database.backend == "mysql":
        user = f"md_{uuid.uuid4().hex[:8]}"
        server_database.execute(
            f"CREATE USER '{user}'@'%' IDENTIFIED BY '{PASSWORD}'",
            f"GRANT ALL ON {url.database}.* TO '{user}'@'%'",
        )
        url = url.set(username=user, password=PASSWORD)
    else:
        url = url.set(password=PASSWORD)  # trust authentication accepts it
    project = copy_project("blog", tmp_path / "project", None)
    project.set_url(url.render_as_string(hide_password=False))
    try:
        project.upgrade("1a2b3c4d5e6f")
        results = [
            project.migdoctor("check"),
            project.migdoctor("check", "--format", "json"),
            project.migdoctor("current", "-v"),
        ]
    finally:
        if server_database.backend == "mysql":
            server_database.execute(f"DROP USER '{url.username}'@'%'")

    for result in results:
        assert result.exit_code in (0, 1), result
        assert PASSWORD not in result.output
    assert "***" in results[1].json()["database"]["url"]
