"""What a user sees when something is wrong on their side, and what they never see.

A password never appears (not in JSON, not in a --debug traceback, not in env.py's own source
line), and a password that is an ordinary word masks nothing else. An unwritable or full project
folder, an unreadable URL, a broken alembic.ini end in one line with exit 2 and nothing changed.
Finding panels wrap at 80 columns instead of being cut. Flask-Migrate projects work wherever
``flask db`` works. The JSON report stays pure JSON whatever env.py prints.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import Database
from tests.helpers import (
    Project,
    add_revision,
    blog_with_bio,
    copy_project,
    edit,
    finding,
    migdoctor_command,
    run,
    run_in_terminal,
)

USER, ARTICLE, COMMENT = "1a2b3c4d5e6f", "2b3c4d5e6f70", "3c4d5e6f7081"
BIO = "4d5e6f708192"
FLASK_USERS = "ff2152a90c3c"


# -- helpers -----------------------------------------------------------------------------------


@contextlib.contextmanager
def user_with_password(database: Database, password: str) -> Iterator[str]:
    """A real server user (PostgreSQL role, MySQL user) owning the test's database, with
    ``password``; yields its URL and drops the user afterwards."""
    name = f"md_u_{uuid.uuid4().hex[:8]}"
    server = make_url(database.url)
    admin = create_engine(database.url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if database.backend == "postgresql":
                connection.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'"))
                connection.execute(text(f"ALTER DATABASE {server.database} OWNER TO {name}"))
            else:
                connection.execute(text(f"CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'"))
                connection.execute(text(f"GRANT ALL ON {server.database}.* TO '{name}'@'%'"))
        yield server.set(username=name, password=password).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            if database.backend == "postgresql":
                connection.execute(text(f"ALTER DATABASE {server.database} OWNER TO postgres"))
                connection.execute(text(f"REASSIGN OWNED BY {name} TO postgres"))
                connection.execute(text(f"DROP OWNED BY {name}"))
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        f"WHERE usename = '{name}'"
                    )
                )
                connection.execute(text(f"DROP ROLE {name}"))
            else:
                connection.execute(text(f"DROP USER '{name}'@'%'"))
        admin.dispose()


def assert_password_hidden(output: str, password: str) -> None:
    """No form in which a password stands as one: in a URL, as a literal, in a message."""
    assert f":{password}@" not in output
    assert f'"{password}"' not in output
    assert f"'{password}'" not in output
    assert f"cannot use {password}" not in output
    if not password.isalpha():  # not an ordinary word: it must not appear at all
        assert password not in output


def panel_text(output: str) -> str:
    """The words inside the boxes of ``output``, joined as one paragraph."""
    inside = [line.strip().strip("│").strip() for line in output.splitlines() if "│" in line]
    return " ".join(" ".join(inside).split())


def sqlite_blog(tmp_path: Path) -> tuple[Project, Database]:
    database = Database("sqlite", f"sqlite:///{tmp_path / 'app.db'}")
    return copy_project("blog", tmp_path / "project", database), database


def blog_with_emptied_version_table(tmp_path: Path, database: Database) -> Project:
    project = copy_project("blog", tmp_path / "project", database)
    project.upgrade("head")
    database.execute("DELETE FROM alembic_version")
    return project


# -- class 6: secrets --------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["fix", "Zq7-s3cr3t-pw"])
@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_a_password_never_appears_and_an_ordinary_word_stays(
    tmp_path: Path, server_database: Database, password: str
) -> None:
    with user_with_password(server_database, password) as url:
        project = copy_project("blog", tmp_path / "project", None)
        project.set_url(url)
        masked = url.replace(f":{password}@", ":***@")

        report = project.migdoctor("check", "--format", "json")
        people = project.migdoctor("check")
        given = project.migdoctor("--url", url, "check")

        env_py = project.root / "alembic" / "env.py"
        source = env_py.read_text()
        env_py.write_text(
            "from sqlalchemy import create_engine\n"
            + source.replace(
                "    with connectable.connect() as connection:",
                # one line, so that the traceback shows it whole
                f'    PASSWORD = "{password}"; create_engine("{url}").connect().close(); '
                'raise RuntimeError("cannot use " + PASSWORD)\n'
                "    with connectable.connect() as connection:",
            )
        )
        debug = project.migdoctor("--debug", "check", "--format", "json")
        plain = project.migdoctor("check")

    assert report.exit_code == 1, report
    document = report.json()
    assert document["database"]["url"] == masked
    commands = [fix["command"] for f in document["findings"] for fix in f["fixes"]]
    # the word is a word everywhere it is not the password
    assert "migdoctor fix upgrade" in commands
    assert "migdoctor fix --interactive" in people.stdout
    assert masked in people.stdout
    # with --url, the commands shown keep it (masked) so that they work as shown
    assert re.search(r"repair with migdoctor --url \S*:\*\*\*@\S* fix --interactive", given.stdout)
    assert re.search(r"migdoctor --url \S*:\*\*\*@\S* fix upgrade", given.stdout), given
    for result in (report, people, given):
        assert_password_hidden(result.output, password)

    # --debug shows the traceback, env.py's source lines included, with the password masked
    assert debug.exit_code == 2, debug
    assert "Traceback" in debug.stderr
    assert f'create_engine("{masked}")' in debug.stderr
    assert 'PASSWORD = "***"' in debug.stderr
    assert "RuntimeError: cannot use ***" in debug.stderr
    assert debug.stdout == ""
    assert plain.exit_code == 2
    assert "Traceback" not in plain.output
    for result in (debug, plain):
        assert_password_hidden(result.output, password)


# -- class 7: failures on the user's side are one line, exit 2, nothing changed ------------------


def test_an_unreadable_url_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    project, database = sqlite_blog(tmp_path)
    project.upgrade(USER)
    bad_port = "postgresql+psycopg://app:Zq7-s3cr3t-pw@127.0.0.1:33o6/db"
    for url, problem, command in (
        (bad_port, "the port '33o6' is not a number", ["check"]),
        (bad_port, "the port '33o6' is not a number", ["upgrade"]),
        (bad_port, "the port '33o6' is not a number", ["fix", "upgrade", "--yes"]),
        ("nonsense", "not a URL", ["current"]),
        ("nonsense", "not a URL", ["revision", "--autogenerate", "-m", "x"]),
    ):
        result = project.migdoctor("--url", url, *command)

        assert result.exit_code == 2, (command, result)
        first = result.stderr.splitlines()[0]
        assert first.startswith("migdoctor: The database URL"), result
        assert problem in first and "Nothing was changed." in first
        assert "unexpected" not in result.output and "Traceback" not in result.output
        assert_password_hidden(result.output, "Zq7-s3cr3t-pw")
    assert database.version_rows() == [USER]
    assert not (project.root / ".migdoctor" / "journal.jsonl").exists()


@pytest.mark.parametrize("obstacle", ["a file", "immutable"])
def test_an_unwritable_journal_folder_stops_the_fix_before_it_starts(
    tmp_path: Path, database: Database, obstacle: str
) -> None:
    project = blog_with_emptied_version_table(tmp_path, database)
    folder = project.root / ".migdoctor"
    if obstacle == "a file":
        folder.write_text("not a folder\n")
    else:
        folder.mkdir()
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not available here")
    try:
        result = project.migdoctor("fix", "stamp", "--revision", COMMENT, "--yes")
        journal_listing = project.migdoctor("undo", "--list")
    finally:
        if obstacle == "immutable":
            subprocess.run(["chattr", "-i", str(folder)], check=True)

    assert result.exit_code == 2, result
    line = result.stderr.splitlines()[0]
    assert line.startswith("migdoctor: Cannot write the journal "), result
    assert "nothing was changed" in line
    assert ("is a file, not a folder" if obstacle == "a file" else "not permitted") in line
    assert "unexpected" not in result.output
    assert database.version_rows() == []
    assert journal_listing.exit_code == 0, journal_listing
    # once the folder can be written, the same command goes through
    if obstacle == "a file":
        folder.unlink()
    assert project.migdoctor("fix", "stamp", "--revision", COMMENT, "--yes").exit_code == 0
    assert database.version_rows() == [COMMENT]


@contextlib.contextmanager
def tiny_disk(where: Path) -> Iterator[Path]:
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def test_a_full_disk_stops_the_fix_before_it_starts(tmp_path: Path, database: Database) -> None:
    with tiny_disk(tmp_path / "disk") as disk:
        project = blog_with_emptied_version_table(disk, database)
        # unbuffered: closing it must not try to write again
        with (disk / "filler").open("wb", buffering=0) as filler, contextlib.suppress(OSError):
            while True:
                filler.write(b"\0" * 4096)
        result = project.migdoctor("fix", "stamp", "--revision", COMMENT, "--yes")
        rows = database.version_rows()

    assert result.exit_code == 2, result
    line = result.stderr.splitlines()[0]
    assert line.startswith("migdoctor: Cannot write the journal "), result
    assert "no space left on device; nothing was changed" in line
    assert rows == []


def test_a_fix_that_cannot_write_its_file_says_nothing_changed(tmp_path: Path) -> None:
    project, database = sqlite_blog(tmp_path)
    project.upgrade(ARTICLE)
    database.execute("CREATE TABLE comment (id INTEGER PRIMARY KEY)")
    versions = project.versions
    script = next(versions.glob(f"{COMMENT}_*.py"))
    before = script.read_bytes()
    if subprocess.run(["chattr", "+i", str(versions)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        result = project.migdoctor("fix", "neuter-upgrade", "--revision", COMMENT, "--yes")
    finally:
        subprocess.run(["chattr", "-i", str(versions)], check=True)

    assert result.exit_code == 2, result
    line = result.stderr.splitlines()[0]
    assert line == (
        f"migdoctor: Cannot write {script}: operation not permitted; nothing was changed "
        "(state left: old)."
    )
    assert script.read_bytes() == before


@pytest.mark.parametrize("server_database", ["postgresql"], indirect=True)
def test_a_missing_role_is_not_called_a_missing_database(
    tmp_path: Path, server_database: Database
) -> None:
    project = copy_project("blog", tmp_path / "project", None)
    url = make_url(server_database.url).set(username="md_nobody", password="pw-Zq7")

    result = project.migdoctor("--url", url.render_as_string(hide_password=False), "check")

    assert result.exit_code == 2, result
    assert 'role "md_nobody" does not exist' in result.stderr
    assert "That user (role) does not exist on the server" in result.stderr
    assert "Create the database" not in result.stderr
    assert_password_hidden(result.output, "pw-Zq7")


def test_a_missing_driver_names_the_package_to_install(tmp_path: Path) -> None:
    try:
        import MySQLdb  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("mysqlclient is installed here")
    project = copy_project("blog", tmp_path / "project", None)

    result = project.migdoctor("--url", "mysql+mysqldb://root@127.0.0.1:3306/test", "check")

    assert result.exit_code == 2, result
    assert "The database driver 'mysqlclient' (module MySQLdb) is not installed" in result.stderr
    assert "pip install 'mysqlclient'" in result.stderr


# full-stack-fastapi-template (github.com/fastapi/full-stack-fastapi-template): env.py imports
# the application's folder beside alembic.ini, which has no prepend_sys_path
def test_a_project_module_off_the_import_path_says_how_to_put_it_there(tmp_path: Path) -> None:
    project = copy_project("blog", tmp_path / "project", None)
    edit(
        project,
        "alembic/env.py",
        "sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))\n",
        "",
    )
    edit(project, "alembic.ini", "prepend_sys_path = .\n", "")

    result = project.migdoctor("check")

    assert result.exit_code == 2, result
    assert "ModuleNotFoundError: No module named 'models'" in result.stderr
    assert "'models' is in " in result.stderr
    assert "'prepend_sys_path = .'" in result.stderr


# full-stack-fastapi-template (github.com/fastapi/full-stack-fastapi-template): env.py reads its
# database settings with pydantic, each required; the first line of the error only counts them
def test_settings_missing_from_the_environment_are_named(tmp_path: Path) -> None:
    project = copy_project("blog", tmp_path / "project", None)
    edit(
        project,
        "alembic/env.py",
        "import models  # noqa: E402\n",
        "import models  # noqa: E402\nimport pydantic\n\n\n"
        "class Settings(pydantic.BaseModel):\n"
        "    POSTGRES_SERVER: str\n    POSTGRES_PASSWORD: str\n    POSTGRES_PORT: int\n\n\n"
        "Settings(POSTGRES_PORT='x')\n",
    )

    result = project.migdoctor("check")

    assert result.exit_code == 2, result
    assert "ValidationError: 3 validation errors for Settings; " in result.stderr
    assert "Field required: POSTGRES_SERVER, POSTGRES_PASSWORD" in result.stderr
    assert "POSTGRES_PORT" in result.stderr


def test_a_broken_alembic_ini_names_its_line(tmp_path: Path) -> None:
    project = copy_project("blog", tmp_path / "project", None)
    original = project.ini.read_text()
    cases = {
        "[loggers\n": "line {n}: '[loggers' is not a section header (no ']')",
        "just words\n": "line {n}: 'just words' is neither [section] nor name = value",
    }
    for broken, expected in cases.items():
        lines = original.splitlines(keepends=True)
        at = next(i for i, line in enumerate(lines) if line.startswith("[loggers]"))
        lines.insert(at, broken)
        project.ini.write_text("".join(lines))

        result = project.migdoctor("check", "--offline")

        assert result.exit_code == 2, result
        assert result.stderr.splitlines()[0] == (
            f"migdoctor: Cannot read alembic.ini, {expected.format(n=at + 1)}"
        )


def test_a_missing_alembic_config_file_is_named_not_a_neighbour(tmp_path: Path) -> None:
    copy_project("blog", tmp_path / "other_project", None)

    result = run(
        [*migdoctor_command(), "check"], tmp_path, env={"ALEMBIC_CONFIG": "prod/alembic.ini"}
    )

    assert result.exit_code == 2, result
    assert "'prod/alembic.ini' not found (named by $ALEMBIC_CONFIG)" in result.stderr
    assert "other_project" not in result.output


# -- class 8: words are never cut ----------------------------------------------------------------


def test_refusal_and_interactive_panels_wrap_at_80_columns(
    blog: Project, database: Database
) -> None:
    blog.upgrade(USER)
    database.execute("CREATE TABLE article (id INTEGER PRIMARY KEY)")
    _, report = blog.check_json()
    message = " ".join(finding(report, "table-exists")["message"].split())
    narrow = {"COLUMNS": "80"}

    refused = blog.migdoctor("upgrade", env=narrow)
    walked = run_in_terminal(
        [*migdoctor_command(), "fix", "--interactive"], blog.root, answers=["q"], env=narrow
    )

    assert refused.exit_code == 1, refused
    for output in (refused.stdout, walked.stdout):
        assert message in panel_text(output), output
        assert max(len(line) for line in output.splitlines() if "│" in line) <= 80
    assert "Repair first with the commands above" in refused.stdout
    assert database.version_rows() == [USER]


def test_a_refusal_without_a_repair_points_to_no_command(tmp_path: Path) -> None:
    project, database = sqlite_blog(tmp_path)
    project.upgrade(USER)
    broken = add_revision(project, BIO, COMMENT, "op.add_column('user', sa.Column('bio'")

    refused = project.migdoctor("upgrade", env={"COLUMNS": "80"})

    assert refused.exit_code == 1, refused
    assert "script-load-error" in refused.stdout
    assert broken.name in panel_text(refused.stdout)
    assert "commands above" not in refused.stdout
    assert "no repair to offer" in refused.stdout
    assert database.version_rows() == [USER]


# -- class 9: Flask-Migrate --------------------------------------------------------------------


def flask_db(root: Path, env: dict[str, str], *args: str) -> None:
    result = run([sys.executable, "-m", "flask", "db", *args], root, env=env)
    assert result.exit_code == 0, result


def test_flask_autogenerate_runs_inside_the_application(tmp_path: Path, database: Database) -> None:
    project = copy_project("flask_app", tmp_path / "app", None)
    env = {"FLASK_APP": "app", "DATABASE_URL": database.url}
    flask_db(project.root, env, "upgrade")
    with (project.root / "app.py").open("a") as models:
        models.write(
            "\n\nclass Post(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n"
        )
    versions = project.root / "migrations" / "versions"

    fixed = project.migdoctor("fix", "autogenerate-revision", "--yes", env=env)
    written = sorted(set(versions.glob("*.py")) - {next(versions.glob(f"{FLASK_USERS}_*.py"))})
    contents = [path.read_text() for path in written]
    undone = project.migdoctor("undo", "--yes", env=env)
    by_hand = project.migdoctor("revision", "--autogenerate", "-m", "post", env=env)

    assert fixed.exit_code == 0, fixed
    assert "application context" not in fixed.output
    assert len(written) == 1 and "op.create_table('post'" in contents[0]
    assert undone.exit_code == 0, undone
    assert not written[0].exists()
    assert by_hand.exit_code == 0, by_hand
    assert any("create_table('post'" in path.read_text() for path in versions.glob("*_post.py"))


def test_flask_app_named_by_path_from_the_parent_folder(tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    copy_project("flask_app", parent / "sub", None)
    env = {"FLASK_APP": "sub/app.py"}
    flask_db(parent, env, "upgrade", "-d", "sub/migrations")

    current = run(
        [*migdoctor_command(), "-c", "sub/migrations/alembic.ini", "current"], parent, env=env
    )

    assert current.exit_code == 0, current
    assert f"{FLASK_USERS} (head)" in current.stdout


# -- issue 9, item 7: the JSON report ------------------------------------------------------------


def test_json_report_is_pure_and_marks_the_recommended_fix(
    blog: Project, database: Database
) -> None:
    blog.upgrade(USER)
    env_py = blog.root / "alembic" / "env.py"
    env_py.write_text(
        env_py.read_text().replace(
            "target_metadata = models.Base.metadata",
            "target_metadata = models.Base.metadata\n"
            "import logging\n"
            "print('hello from env.py')\n"
            "logging.basicConfig(stream=sys.stdout, level=logging.INFO, force=True)\n"
            "logging.getLogger('app').warning('a log line on stdout')\n"
            "os.system('echo from a child process')\n",
        )
    )
    ini = blog.ini.read_text().replace("args = (sys.stderr,)", "args = (sys.stdout,)")
    blog.ini.write_text(ini)

    result = blog.migdoctor("check", "--format", "json")

    assert result.exit_code == 1, result
    document = result.json()  # stdout parses: nothing else is on it
    stale = finding(document, "stale-current")
    assert [fix["recommended"] for fix in stale["fixes"]].count(True) == 1
    assert stale["fixes"][0] == {**stale["fixes"][0], "id": "upgrade", "recommended": True}
    for found in document["findings"]:
        assert all(isinstance(fix["recommended"], bool) for fix in found["fixes"])
        assert [fix["recommended"] for fix in found["fixes"]].count(True) <= 1
    for chatter in ("hello from env.py", "a log line on stdout", "from a child process"):
        assert chatter in result.stderr


# -- class 11: the small ones ------------------------------------------------------------------


@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_blocker_hint_speaks_the_database_sql_without_preflight(
    tmp_path: Path, server_database: Database
) -> None:
    project = blog_with_bio(tmp_path, server_database)
    blocker = server_database.engine().connect()
    quoted = '"user"' if server_database.backend == "postgresql" else "`user`"
    blocker.execute(text(f"SELECT * FROM {quoted}"))  # the transaction stays open
    session = str(
        blocker.execute(
            text(
                "SELECT CONNECTION_ID()"
                if server_database.backend == "mysql"
                else "SELECT pg_backend_pid()"
            )
        ).scalar()
    )
    try:
        _, report = project.check_json()
        url = server_database.url
        result = project.migdoctor("--url", url, "upgrade", "--no-preflight", "--lock-timeout", "2")
    finally:
        blocker.close()

    contention = finding(report, "lock-contention")
    assert contention["message"].startswith("1 other session has an open transaction") or (
        contention["message"].startswith("1 other session holds locks")
    )
    assert result.exit_code == 1, result
    ending = (
        f"SELECT pg_terminate_backend({session})"
        if server_database.backend == "postgresql"
        else f"KILL {session}"
    )
    assert f"or in SQL: {ending}" in result.stdout
    assert re.search(rf"migdoctor --url \S+ fix end-session --session {session}", result.stdout)


def test_plan_titles_never_say_none(tmp_path: Path) -> None:
    project, _ = sqlite_blog(tmp_path)
    project.upgrade("head")

    titles = [
        project.migdoctor("fix", fix, "--dry-run").stdout.splitlines()[0]
        for fix in ("stamp", "end-session", "neuter-upgrade")
    ]

    assert titles == [
        "Plan · stamp · caution — Record a revision in the version table without running "
        "migrations",
        "Plan · end-session · dangerous — End another database session",
        "Plan · neuter-upgrade · dangerous — Replace the body of a revision's upgrade() with pass",
    ]


def test_where_a_password_stands_it_is_masked_and_nowhere_else() -> None:
    from migdoctor.redact import (
        forget_all_secrets,
        redact,
        redact_foreign,
        remember_url_password,
    )

    forget_all_secrets()
    remember_url_password("postgresql://app:fix@db/app")
    try:
        shown = {
            "postgresql://app:p@ss:w0rd@db:5432/app": "postgresql://app:***@db:5432/app",
            "host=db user=app password=fix dbname=app": "host=db user=app password=*** dbname=app",
            "{'user': 'app', 'password': 'fix'}": "{'user': 'app', 'password': '***'}",
            'DB_PASSWORD = "fix"': 'DB_PASSWORD = "***"',
            "ALTER ROLE app PASSWORD 'fix'": "ALTER ROLE app PASSWORD '***'",
            # words that are not where a password stands stay as they are
            "migdoctor fix upgrade": "migdoctor fix upgrade",
            "Access denied for user 'app'@'db' (using password: YES)": (
                "Access denied for user 'app'@'db' (using password: YES)"
            ),
            "Check the user name and password in the URL.": (
                "Check the user name and password in the URL."
            ),
            "sqlite:////srv/app.db": "sqlite:////srv/app.db",
            # a column named so, as migdoctor describes it (ihatemoney's project.password,
            # github.com/spiral-project/ihatemoney, read "password: *** VARCHAR(128)")
            "column project_version.password: type VARCHAR(128) in the database": (
                "column project_version.password: type VARCHAR(128) in the database"
            ),
            "column user.password_hash: nullable NULL in the database": (
                "column user.password_hash: nullable NULL in the database"
            ),
        }
        for before, after in shown.items():
            assert redact(before) == after
        # in foreign text (an exception, a traceback) a known password is masked as a word,
        # except in the lines that name a file
        traceback_text = (
            '  File "/srv/fix/env.py", line 3, in <module>\n'
            '    connect("db", "app", "fix")\n'
            "RuntimeError: cannot use fix"
        )
        assert redact_foreign(traceback_text) == (
            '  File "/srv/fix/env.py", line 3, in <module>\n'
            '    connect("db", "app", "***")\n'
            "RuntimeError: cannot use ***"
        )
        assert redact("migdoctor fix upgrade") == "migdoctor fix upgrade"
    finally:
        forget_all_secrets()
