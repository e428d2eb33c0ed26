"""Drive migdoctor and alembic the way a user does: real commands in the project's folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests import warm_start

if TYPE_CHECKING:
    import random

    from migdoctor.project.graph import RevisionGraph
    from tests.conftest import Database

REPOSITORY = Path(__file__).resolve().parent.parent
FIXTURES = REPOSITORY / "fixtures"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

# the blog fixture: three revisions, oldest first, and their files
USER, ARTICLE, COMMENT = "1a2b3c4d5e6f", "2b3c4d5e6f70", "3c4d5e6f7081"
USER_FILE = "alembic/versions/1a2b3c4d5e6f_create_user_table.py"
ARTICLE_FILE = "alembic/versions/2b3c4d5e6f70_create_article_table.py"
COMMENT_FILE = "alembic/versions/3c4d5e6f7081_add_comment_table.py"
# a revision tests add after the comment one: a tag table (add_tag_revision), or a bio column on
# the user table (blog_with_bio)
TAG = "4d5e6f708192"
TAG_FILE = f"alembic/versions/{TAG}_add_tag_table.py"
BIO = "4d5e6f708192"


def migdoctor_command() -> list[str]:
    """The installed console script when there is one, as a user would run it."""
    script = Path(sys.executable).parent / "migdoctor"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "migdoctor"]


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return (
            f"<Result exit={self.exit_code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}>"
        )


def run(
    command: list[str],
    cwd: Path,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> Result:
    environment = dict(os.environ)
    environment.update({"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb", "PYTHONHASHSEED": "0"})
    environment.pop("ALEMBIC_CONFIG", None)
    if env:
        environment.update(env)
    if warm_start.serves(command, environment):
        exit_code, stdout, stderr = warm_start.run(command, cwd, input, environment, timeout)
    else:
        completed = subprocess.run(
            command,
            cwd=cwd,
            input=input,
            capture_output=True,
            text=True,
            env=environment,
            timeout=timeout,
        )
        exit_code, stdout, stderr = completed.returncode, completed.stdout, completed.stderr
    return Result(exit_code, ANSI.sub("", stdout), ANSI.sub("", stderr))


class Project:
    """A fixture project copied to a temporary folder."""

    def __init__(self, root: Path, database: Database | None) -> None:
        self.root = root
        self.database = database

    @property
    def ini(self) -> Path:
        return self.root / "alembic.ini"

    @property
    def versions(self) -> Path:
        return self.root / "alembic" / "versions"

    def migdoctor(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Result:
        return run(migdoctor_command() + list(args), cwd or self.root, input=input, env=env)

    def alembic(self, *args: str, env: dict[str, str] | None = None) -> Result:
        result = run([sys.executable, "-m", "alembic", *args], self.root, env=env)
        return result

    def upgrade(self, revision: str = "head") -> None:
        """Bring the database to ``revision`` with alembic itself."""
        result = self.alembic("upgrade", revision)
        assert result.exit_code == 0, result

    def check_json(self, *args: str) -> tuple[int, dict[str, Any]]:
        result = self.migdoctor("check", "--format", "json", *args)
        assert result.exit_code in (0, 1), result
        return result.exit_code, result.json()

    def set_url(self, url: str) -> None:
        set_ini_option(self.ini, "alembic", "sqlalchemy.url", url.replace("%", "%%"))


def set_ini_option(ini: Path, section: str, option: str, value: str) -> None:
    """Change one option in an ini file, keeping the rest of the file as it is."""
    text = ini.read_text()
    pattern = re.compile(rf"^{re.escape(option)}\s*=.*$", re.MULTILINE)
    line = f"{option} = {value}"
    if pattern.search(text):
        text = pattern.sub(lambda _: line, text, count=1)
    else:
        text = text.replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1)
    ini.write_text(text)


def copy_project(name: str, destination: Path, database: Database | None) -> Project:
    shutil.copytree(
        FIXTURES / name, destination, ignore=shutil.ignore_patterns("__pycache__", "*.db")
    )
    project = Project(destination, database)
    if database is not None and project.ini.exists():
        project.set_url(database.url)
    return project


def overlay(project: Project, name: str) -> None:
    """Copy the fixture ``name`` over ``project``: files it adds or replaces (a revision and the
    models that go with it, say)."""
    shutil.copytree(
        FIXTURES / name,
        project.root,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.db"),
    )


def finding(document: dict[str, Any], check: str) -> dict[str, Any]:
    """The one finding of ``check`` in a JSON report (fails when there is not exactly one)."""
    found = [f for f in document["findings"] if f["check"] == check]
    assert len(found) == 1, (
        f"expected one {check} finding, got {[f['check'] for f in document['findings']]}"
    )
    return found[0]


def checks_found(document: dict[str, Any]) -> set[str]:
    return {f["check"] for f in document["findings"]}


def load_module_from(path: Path) -> Any:
    """Import a fixture project's module by path, without touching sys.modules."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"fixture_{path.stem}_{id(path)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PROMPT = re.compile(rb"(\[[^\]\n]*\]\s*(\([^)\n]*\))?\s*:\s*)$")


def run_in_terminal(
    command: list[str],
    cwd: Path,
    answers: list[str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> Result:
    """Run ``command`` on a pseudo-terminal, answering each prompt with the next of ``answers``
    (None: press Enter at every prompt, as a hurried user does)."""
    import pty
    import select
    import time

    environment = dict(os.environ)
    environment.update({"COLUMNS": "200", "LINES": "50", "NO_COLOR": "1", "TERM": "xterm"})
    environment.pop("ALEMBIC_CONFIG", None)
    if env:
        environment.update(env)
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        command, cwd=cwd, stdin=secondary, stdout=secondary, stderr=secondary, env=environment
    )
    os.close(secondary)
    output = b""
    answered_at = 0
    pending = list(answers) if answers is not None else None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
            elif process.poll() is not None:
                break
            unanswered = output[answered_at:]
            if PROMPT.search(ANSI.sub("", unanswered.decode("utf-8", "replace")).encode()):
                answer = "" if pending is None else (pending.pop(0) if pending else "q")
                os.write(primary, answer.encode() + b"\r")
                answered_at = len(output)
        process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
        os.close(primary)
    text = ANSI.sub("", output.decode("utf-8", "replace")).replace("\r\n", "\n")
    return Result(process.returncode, text, "")


def add_revision(
    project: Project,
    revision: str,
    down_revision: str | None,
    upgrade: str,
    downgrade: str = "pass",
    message: str = "change",
    imports: str = "",
) -> Path:
    """Write a revision file the way a developer would, into the project's versions folder."""
    body = "\n".join("    " + line for line in upgrade.strip().splitlines())
    down_body = "\n".join("    " + line for line in downgrade.strip().splitlines())
    path = project.versions / f"{revision}_{message.replace(' ', '_')}.py"
    path.write_text(
        f'"""{message}\n\nRevision ID: {revision}\nRevises: {down_revision or ""}\n"""\n'
        f"from alembic import op\nimport sqlalchemy as sa\n{imports}\n\n"
        f"revision = {revision!r}\ndown_revision = {down_revision!r}\n"
        "branch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade():\n{body}\n\n\ndef downgrade():\n{down_body}\n"
    )
    return path


def create_article_outside_migrations(database: Database, foreign_key: bool = True) -> None:
    """The article table made outside the migrations (metadata.create_all(), say)."""
    import sqlalchemy as sa

    metadata = sa.MetaData()
    engine = database.engine()
    if foreign_key:
        sa.Table("user", metadata, autoload_with=engine)
    sa.Table(
        "article",
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer(),
            *([sa.ForeignKey("user.id")] if foreign_key else []),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP")),
    ).create(engine)
    engine.dispose()


def article_by_hand(blog: Project, database: Database) -> None:
    blog.upgrade(USER)
    create_article_outside_migrations(database)


def schema_of(database: Database) -> frozenset[Any]:
    """Every table of the database with its columns, keys, indexes and constraints (and on
    PostgreSQL its sequences and enums), the version table and migdoctor's ledger left out:
    migdoctor's snapshot."""
    from migdoctor.database.schema_snapshot import read_schema_snapshot

    engine = database.engine()
    with engine.connect() as connection:
        snapshot = read_schema_snapshot(connection, exclude=("alembic_version", "migdoctor_ledger"))
    engine.dispose()
    return snapshot.objects


# the squash fixture (fixtures/squash_history): squashed up to its sixth revision, its seventh kept
SQUASH_UP_TO = "sq06tags0000"
SQUASH_HEAD = "sq07email000"
SQUASH_BEHIND = "sq02post0000"


def scratch_url_for(database: Database) -> tuple[str, ...]:
    """Where squash builds its proof: a temporary SQLite file, or a server of the database's
    kind (``--scratch-url``)."""
    from tests.conftest import MYSQL_URL, POSTGRES_URL

    if database.backend == "sqlite":
        return ()
    return ("--scratch-url", MYSQL_URL if database.backend == "mysql" else POSTGRES_URL)


def behind_a_squash(tmp_path: Path, database: Database) -> Project:
    """The squash fixture at its second revision, then squashed up to its sixth: the database
    is at a revision the squash archived."""
    project = copy_project("squash_history", tmp_path / "project", database)
    project.upgrade(SQUASH_BEHIND)
    squashed = squash_dropping_data_migrations(project, database)
    assert squashed.exit_code == 0, squashed
    return project


def squash_dropping_data_migrations(project: Project, database: Database) -> Result:
    """``migdoctor squash`` of the squash fixture up to its sixth revision, its data migrations
    left out, without asking."""
    return project.migdoctor(
        "squash",
        "--up-to",
        SQUASH_UP_TO,
        "--drop-data-migrations",
        "--yes",
        *scratch_url_for(database),
    )


def journal(project: Project | Path) -> list[dict[str, Any]]:
    """The records of the project's journal (.migdoctor/journal.jsonl), oldest first."""
    root = project.root if isinstance(project, Project) else project
    path = root / ".migdoctor" / "journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# -- revision files edited the way developers edit them ------------------------------------------


def edit(project: Project, relative: str, old: str, new: str) -> None:
    path = project.root / relative
    text = path.read_text()
    assert old in text, f"{old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1))


def header(project: Project, relative: str, name: str, value: str) -> None:
    """Set one header variable of a revision file (``down_revision = ...``) to ``value``."""
    path = project.root / relative
    text, count = re.subn(rf"^{name}\b.*$", f"{name} = {value}", path.read_text(), flags=re.M)
    assert count == 1, f"no {name} in {relative}"
    path.write_text(text)


def add_tag_revision(project: Project, down_revision: str, revision: str = TAG) -> None:
    """A new revision, written as a developer does: the comment revision copied and edited."""
    text = (project.root / COMMENT_FILE).read_text()
    text = text.replace("add comment table", "add tag table").replace("'comment'", "'tag'")
    text = text.replace(f"revision: str = '{COMMENT}'", f"revision: str = '{revision}'")
    (project.root / TAG_FILE).write_text(text)
    header(project, TAG_FILE, "down_revision", repr(down_revision))


# -- a pending revision altering the user table, and a session in its way --------------------


def blog_with_bio(tmp_path: Path, database: Database) -> Project:
    """The blog at its head, with a revision adding a bio column to "user" pending."""
    project = copy_project("blog", tmp_path / "project", database)
    project.upgrade("head")
    add_revision(
        project,
        BIO,
        COMMENT,
        "op.add_column('user', sa.Column('bio', sa.Text(), nullable=True))",
        downgrade="op.drop_column('user', 'bio')",
        message="add bio",
    )
    return project


def hold_user_table(database: Database):  # type: ignore[no-untyped-def]
    """Another session reads "user" inside an open transaction: its lock blocks ALTER TABLE."""
    from sqlalchemy import text

    connection = database.engine().connect()
    quoted = '"user"' if database.backend == "postgresql" else "`user`"
    connection.execute(text(f"SELECT * FROM {quoted}"))  # the transaction stays open
    if database.backend == "mysql":
        session = connection.execute(text("SELECT CONNECTION_ID()")).scalar()
    else:
        session = connection.execute(text("SELECT pg_backend_pid()")).scalar()
    return connection, str(session)


# -- a run that pauses half way through a revision ----------------------------------------------

SLOW = "8b8b8b8b8b8b"
AFTER = "9c9c9c9c9c9c"

# the revision pauses (only when it really runs, not while migdoctor records it) until the
# test creates the release file, and says where it is by creating the started file
PAUSING_UPGRADE = """
op.create_table('tag', sa.Column('id', sa.Integer, primary_key=True),
                sa.Column('name', sa.String(20)))
if not op.get_context().as_sql:
    pathlib.Path(os.environ['MD_TEST_STARTED']).touch()
    deadline = time.monotonic() + 30
    while not pathlib.Path(os.environ['MD_TEST_RELEASE']).exists():
        assert time.monotonic() < deadline, 'never released'
        time.sleep(0.05)
op.create_index('ix_tag_name', 'tag', ['name'])
"""
# each paused run's output file, by process id
OUTPUTS: dict[int, Path] = {}


@dataclass
class Pausing:
    project: Project
    started: Path
    release: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "COLUMNS": "200",
            "NO_COLOR": "1",
            "TERM": "dumb",
            "MD_TEST_STARTED": str(self.started),
            "MD_TEST_RELEASE": str(self.release),
        }

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Run migdoctor; its output goes to a file, to be read while it runs."""
        output = self.started.parent / f"output-{len(list(self.started.parent.glob('output-*')))}"
        with output.open("w") as handle:
            process = subprocess.Popen(
                [*migdoctor_command(), *args],
                cwd=self.project.root,
                stdout=handle,
                stderr=subprocess.STDOUT,
                text=True,
                env=self.env,
            )
        OUTPUTS[process.pid] = output
        return process

    def wait_until_paused(self, process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 60
        while not self.started.exists():
            if process.poll() is not None:
                raise AssertionError(f"the run ended before pausing: {process.communicate()}")
            assert time.monotonic() < deadline, "the revision never started"
            time.sleep(0.05)

    def go_on(self) -> None:
        self.release.touch()


def pausing_project(tmp_path: Path, database: Database, then: bool = False) -> Pausing:
    """The blog at its head, plus a revision that pauses half way (and one after it)."""
    project = copy_project("blog", tmp_path / "project", database)
    project.upgrade("head")
    add_revision(
        project,
        SLOW,
        COMMENT,
        PAUSING_UPGRADE,
        downgrade="op.drop_table('tag')",
        message="slow tag",
        imports="import os\nimport pathlib\nimport time",
    )
    if then:
        add_revision(
            project,
            AFTER,
            SLOW,
            "op.create_table('label', sa.Column('id', sa.Integer, primary_key=True))",
            downgrade="op.drop_table('label')",
            message="create label",
        )
    return Pausing(project, tmp_path / "started", tmp_path / "release")


def output_so_far(process: subprocess.Popen[str]) -> str:
    return ANSI.sub("", OUTPUTS[process.pid].read_text())


def finish(process: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str]:
    process.wait(timeout=timeout)
    return process.returncode, output_so_far(process)


# -- random revision histories, and both graphs of one ------------------------------------------


def random_history(
    rng: random.Random, size: int
) -> list[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]]:
    """(revision, down_revisions, depends_on, branch_labels) with branches, merges of two or
    three parents, extra bases, dependencies and labels, in a shuffled file order."""
    revisions: list[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = []
    tips: list[str] = []
    for index in range(size):
        revision = f"r{index:04d}_{rng.randrange(16**4):04x}"
        if not revisions or rng.random() < 0.04:
            down: tuple[str, ...] = ()
        elif len(tips) >= 2 and rng.random() < 0.12:
            down = tuple(rng.sample(tips, min(len(tips), rng.choice((2, 2, 3)))))
        elif rng.random() < 0.15:
            down = (rng.choice(revisions)[0],)
        else:
            down = (rng.choice(tips),)
        depends: tuple[str, ...] = ()
        if revisions and rng.random() < 0.06:
            candidate = rng.choice(revisions)[0]
            depends = () if candidate in down else (candidate,)
        labels = (f"label{index}",) if rng.random() < 0.05 else ()
        revisions.append((revision, down, depends, labels))
        tips = [tip for tip in tips if tip not in down] + [revision]
    rng.shuffle(revisions)
    return revisions


def alembic_map(history):  # type: ignore[no-untyped-def]
    from alembic.script.revision import Revision, RevisionMap

    def generate():  # type: ignore[no-untyped-def]
        for revision, down, depends, labels in history:
            yield Revision(
                revision,
                down[0] if len(down) == 1 else (down or None),
                dependencies=depends or None,
                branch_labels=labels or None,
            )

    return RevisionMap(generate)


def our_graph(history) -> RevisionGraph:  # type: ignore[no-untyped-def]
    from migdoctor.project.graph import RevisionGraph
    from migdoctor.project.scripts import RevisionScript

    return RevisionGraph(
        [
            RevisionScript(revision, down, labels, depends, "", Path(f"{revision}.py"))
            for revision, down, depends, labels in history
        ]
    )


# -- env.py as alembic's template leaves it ------------------------------------------------------

# what blog's env.py does to reach its models
BLOG_WIRING = """# models.py sits beside the alembic folder
sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import models  # noqa: E402

target_metadata = models.Base.metadata
"""


def unwire_target_metadata(project: Project, replacement: str = "target_metadata = None\n") -> Path:
    """The blog's env.py with ``replacement`` where it reaches its models (by default alembic's
    template line, ``target_metadata = None``). Returns env.py."""
    env_py = project.root / "alembic" / "env.py"
    text = env_py.read_text()
    assert BLOG_WIRING in text
    env_py.write_text(text.replace(BLOG_WIRING, replacement))
    return env_py


# -- the project in a git repository built by the test ---------------------------------------

GIT_ENVIRONMENT = {
    "GIT_AUTHOR_NAME": "Ada Tester",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Tester",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(project: Project, *args: str) -> str:
    """Run git in the project's folder (identity set, no user or system config); its output."""
    result = run(["git", *args], project.root, env=GIT_ENVIRONMENT)
    assert result.exit_code == 0, result
    return result.stdout.strip()


def git_repository(project: Project) -> None:
    """Make the project a git repository on branch main, with everything in a first commit."""
    git(project, "init", "-q", "-b", "main")
    (project.root / ".gitignore").write_text("__pycache__/\n*.db\n")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "the blog project")


# -- pending operations on tables that hold rows (the blast-radius checks) ------------------

# revisions tests add after the comment one, for the blast-radius checks
NICKNAME, PENDING = "5e6f70819203", "6f7081920314"


def numbers_sql(rows: int) -> str:
    """A SELECT of the numbers 1..rows (rows < 100,000) as ``n``, in one statement that
    PostgreSQL, MySQL/MariaDB and SQLite all run: five digit tables cross-joined."""
    digit = " UNION ALL ".join(f"SELECT {d} AS d" for d in range(10))
    tables = ", ".join(f"({digit}) AS d{i}" for i in range(5))
    number = " + ".join(f"d{i}.d * {10**i}" for i in range(5))
    return f"SELECT {number} + 1 AS n FROM {tables} WHERE {number} < {rows}"


def fill_users(database: Database, rows: int, start: int = 0) -> None:
    """Insert ``rows`` users into the blog's user table with one INSERT … SELECT."""
    numbered = f"n + {start}"
    if database.backend == "mysql":
        username, email = f"CONCAT('u', {numbered})", f"CONCAT('u', {numbered}, '@x.org')"
        table = "user"
    else:
        username, email = f"'u' || ({numbered})", f"'u' || ({numbered}) || '@x.org'"
        table = '"user"'
    database.execute(
        f"INSERT INTO {table} (username, email) "
        f"SELECT {username}, {email} FROM ({numbers_sql(rows)}) AS numbers"
    )


def blog_with_users(tmp_path: Path, database: Database, rows: int) -> Project:
    """The blog at its head, its user table holding ``rows`` users."""
    project = copy_project("blog", tmp_path / "project", database)
    project.upgrade("head")
    fill_users(database, rows)
    # the catalog's estimate, as autovacuum or InnoDB's background statistics would leave it
    if database.backend == "postgresql":
        database.execute('ANALYZE "user"')
    elif database.backend == "mysql":
        database.scalars("ANALYZE TABLE user")
    return project


def blog_with_nicknames(tmp_path: Path, database: Database, rows: int) -> Project:
    """The blog with ``rows`` users and a nullable user.nickname column (revision NICKNAME),
    upgraded to it: the nicknames are all NULL until the test fills them."""
    project = blog_with_users(tmp_path, database, rows)
    add_revision(
        project,
        NICKNAME,
        COMMENT,
        "op.add_column('user', sa.Column('nickname', sa.String(50), nullable=True))",
        message="add nickname",
    )
    project.upgrade("head")
    return project


def pending_revision(project: Project, upgrade: str, down_revision: str = COMMENT) -> Path:
    """A pending revision after ``down_revision`` whose upgrade() is ``upgrade``."""
    return add_revision(project, PENDING, down_revision, upgrade, message="pending change")


def leave_an_invalid_index(database: Database, name: str = "ix_user_email") -> None:
    """On PostgreSQL, what a failed CREATE INDEX CONCURRENTLY leaves: a unique index over the
    blog's user emails, built concurrently over duplicates, kept INVALID."""
    import pytest
    from sqlalchemy import create_engine, text

    database.execute(
        """INSERT INTO "user" (username, email) VALUES ('ada', 'a@x.org'), ('bob', 'a@x.org')"""
    )
    engine = create_engine(database.url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection, pytest.raises(Exception, match="could not create"):
        connection.execute(text(f'CREATE UNIQUE INDEX CONCURRENTLY {name} ON "user" (email)'))
    engine.dispose()


# the tables of app_created_tables_history as the application makes them at its head
APP_TABLES_AT_HEAD = (
    "CREATE TABLE member (id INTEGER PRIMARY KEY, name VARCHAR(40), bio VARCHAR(200))",
    "CREATE TABLE article (id INTEGER PRIMARY KEY, title VARCHAR(100), summary VARCHAR(200))",
)


def app_created_tables_history(project: Project) -> None:
    """JupyterHub's pattern (jupyterhub/jupyterhub): the first revision is empty, the application
    creates its tables itself (create_all(), then a stamp), and every later revision alters
    tables (member, article) no revision creates, so the history knows none of their shapes."""
    for path in project.versions.glob("*.py"):
        path.unlink()
    changes = [
        ("a2nick", "op.add_column('member', sa.Column('nickname', sa.String(40)))"),
        ("a3summary", "op.add_column('article', sa.Column('summary', sa.String(200)))"),
        ("a4bio", "op.add_column('member', sa.Column('bio', sa.String(200)))"),
        ("a5nonick", "op.drop_column('member', 'nickname')"),
    ]
    add_revision(project, "a1base", None, "pass", message="base")
    for (revision, upgrade), down_revision in zip(
        changes, ["a1base"] + [revision for revision, _ in changes], strict=False
    ):
        add_revision(project, revision, down_revision, upgrade)


def env_py_sets_search_path(project: Project, schema: str) -> None:
    """Netflix/dispatch's env.py: PostgreSQL's search_path set to ``schema`` on the connection
    it migrates on, right after connecting (version_table_schema left unset)."""
    env_py = project.root / "alembic" / "env.py"
    env_py.write_text(
        env_py.read_text().replace(
            "    with connectable.connect() as connection:\n",
            "    with connectable.connect() as connection:\n"
            f"        connection.exec_driver_sql('set search_path to {schema}')\n"
            "        connection.commit()\n",
        )
    )
