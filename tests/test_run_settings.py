"""``lock_timeout``, ``statement_timeout`` and ``retries`` in ``[tool.migdoctor]`` (or the ini's
``[migdoctor]`` section) are what ``upgrade`` (and every other writer: stamp, each fix, undo)
takes when the command line does not say; the command line wins; a wrong value is one clear
error naming the file, before anything runs."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Database
from tests.helpers import (
    ARTICLE,
    BIO,
    COMMENT,
    COMMENT_FILE,
    SQUASH_HEAD,
    Project,
    blog_with_bio,
    copy_project,
    edit,
    hold_user_table,
    migdoctor_command,
    squash_dropping_data_migrations,
)


@pytest.mark.parametrize(
    ("where", "setting", "said"),
    [
        ("pyproject.toml", "lock_timeout = -1", "lock_timeout in [tool.migdoctor] of"),
        (
            "pyproject.toml",
            'statement_timeout = "soon"',
            "statement_timeout in [tool.migdoctor] of",
        ),
        ("pyproject.toml", "retries = -2", "retries in [tool.migdoctor] of"),
        ("pyproject.toml", "retries = 1.5", "retries in [tool.migdoctor] of"),
        ("alembic.ini", "retries = -1", "retries in [migdoctor] of"),
        ("alembic.ini", "lock_timeout = never", "lock_timeout in [migdoctor] of"),
    ],
)
def test_a_wrong_value_is_refused_naming_the_file(
    blog: Project, database: Database, where: str, setting: str, said: str
) -> None:
    if where == "pyproject.toml":
        (blog.root / where).write_text(f"[tool.migdoctor]\n{setting}\n")
    else:
        with blog.ini.open("a") as ini:
            ini.write(f"\n[migdoctor]\n{setting}\n")

    result = blog.migdoctor("upgrade", "head")

    assert result.exit_code == 2, result
    assert said in " ".join(result.output.split())
    assert where in result.output
    assert "Traceback" not in result.output
    assert database.version_rows() == []  # nothing ran


@pytest.mark.parametrize("server_database", ["postgresql"], indirect=True)
def test_retries_and_lock_timeout_from_the_settings_and_the_command_line_wins(
    tmp_path: Path, server_database: Database
) -> None:
    blog = blog_with_bio(tmp_path, server_database)
    (blog.root / "pyproject.toml").write_text("[tool.migdoctor]\nlock_timeout = 1\nretries = 6\n")
    blocker, _ = hold_user_table(server_database)
    try:
        once = blog.migdoctor("upgrade", "--retries", "0")
        assert once.exit_code == 1, once  # --retries 0 wins: it gave up after lock_timeout = 1
        assert "trying again" not in once.output
        upgrade = subprocess.Popen(
            [*migdoctor_command(), "upgrade"],
            cwd=blog.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(upgrade.stdout or ()))
        reader.start()
        # the lock is let go once the upgrade said it tries again (however slow its start)
        deadline = time.monotonic() + 60
        while "(retry 1 of 6)" not in " ".join("".join(lines).split()):
            assert upgrade.poll() is None, "the upgrade stopped instead of retrying"
            assert time.monotonic() < deadline, "the upgrade never tried again"
            time.sleep(0.1)
    finally:
        blocker.close()

    upgrade.wait(timeout=90)
    reader.join(timeout=30)
    output = "".join(lines)

    assert upgrade.returncode == 0, output
    assert "(retry 1 of 6)" in " ".join(output.split())
    assert server_database.version_rows() == [BIO]


SLEEP = {
    "postgresql": "SELECT pg_sleep(30)",
    "mysql": "SELECT SLEEP(30)",
}


@pytest.mark.parametrize("server_database", ["postgresql", "mysql"], indirect=True)
def test_statement_timeout_from_the_settings(tmp_path: Path, server_database: Database) -> None:
    blog = copy_project("blog", tmp_path / "project", server_database)
    blog.upgrade(ARTICLE)
    sleep = SLEEP[server_database.backend]
    edit(
        blog,
        COMMENT_FILE,
        "    op.create_table('comment',",
        f"    op.execute({sleep!r})\n    op.create_table('comment',",
    )
    with blog.ini.open("a") as ini:
        ini.write("\n[migdoctor]\nstatement_timeout = 1\n")
    started = time.monotonic()

    result = blog.migdoctor("upgrade")

    assert time.monotonic() - started < 20, "the statement was not stopped"
    assert result.exit_code == 1, result
    assert server_database.version_rows() == [ARTICLE]

    edit(blog, COMMENT_FILE, sleep, sleep.replace("30", "2"))
    # the command line wins: no limit for this run (0), and the statement of 2 s runs through
    assert blog.migdoctor("upgrade", "--statement-timeout", "0").exit_code == 0
    assert server_database.version_rows() == [COMMENT]


@contextmanager
def user_table_held(database: Database) -> Iterator[None]:
    """Another session holds a lock that an ALTER TABLE of "user" waits behind: SQLite's write
    lock, a read of "user" in an open transaction on the servers."""
    import sqlite3

    if database.backend == "sqlite":
        blocker: Any = sqlite3.connect(
            database.url.removeprefix("sqlite:///"), isolation_level=None
        )
        blocker.execute("BEGIN IMMEDIATE")  # SQLite's write lock, held
    else:
        blocker, _ = hold_user_table(database)
    try:
        yield
    finally:
        blocker.close()


VERSION_TABLE_LOCK = {
    "sqlite": "BEGIN EXCLUSIVE",
    "postgresql": "LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE",
    "mysql": "LOCK TABLES alembic_version WRITE",
}


@contextmanager
def version_table_held(database: Database) -> Iterator[None]:
    """Another session holds a lock that even a read of the version table waits behind."""
    import sqlite3

    if database.backend == "sqlite":
        blocker: Any = sqlite3.connect(
            database.url.removeprefix("sqlite:///"), isolation_level=None
        )
        blocker.execute(VERSION_TABLE_LOCK["sqlite"])
    else:
        blocker = database.engine().connect()
        blocker.exec_driver_sql(VERSION_TABLE_LOCK[database.backend])
    try:
        yield
    finally:
        blocker.close()


def test_a_fix_takes_lock_timeout_from_the_settings(tmp_path: Path, database: Database) -> None:
    """The settings are every writer's defaults, not only upgrade's: with lock_timeout = 1 a
    fix whose revision waits behind another session's lock gives up after a second (the
    default would wait a minute), and says so."""
    blog = blog_with_bio(tmp_path, database)
    (blog.root / "pyproject.toml").write_text("[tool.migdoctor]\nlock_timeout = 1\n")
    with user_table_held(database):
        started = time.monotonic()
        fixed = blog.migdoctor("fix", "upgrade", "--yes")
        waited = time.monotonic() - started

    assert fixed.exit_code == 1, fixed
    assert waited < 30, f"waited {waited:.0f}s: the setting was not taken"
    assert "lock" in fixed.output.lower()
    assert database.version_rows() == [COMMENT]


def test_upgrade_targets_takes_the_settings_and_the_command_line_wins(
    tmp_path: Path, database: Database
) -> None:
    """A fleet's targets share the project, and its settings: with lock_timeout = 1 the target
    whose revision waits behind another session's lock gives up after a second (it used to wait
    the built-in minute), the fleet stops there, and --retries 0 wins over retries = 5."""
    blog = blog_with_bio(tmp_path, database)
    (blog.root / "pyproject.toml").write_text("[tool.migdoctor]\nlock_timeout = 1\nretries = 5\n")
    later = tmp_path / "later.db"
    targets = tmp_path / "targets.txt"
    targets.write_text(f"tenant {database.url}\nlater sqlite:///{later}\n")
    with user_table_held(database):
        started = time.monotonic()
        upgraded = blog.migdoctor("upgrade", "--targets", str(targets), "--retries", "0")
        waited = time.monotonic() - started

    assert upgraded.exit_code == 1, upgraded
    assert waited < 30, f"waited {waited:.0f}s: the setting was not taken"
    said = " ".join(upgraded.stdout.split())
    assert "waited too long for a lock" in said and "It waited 1s" in said, upgraded
    assert "trying again" not in said  # --retries 0 wins over the setting
    assert "0 of 2 targets upgraded; not: tenant" in said
    assert "1 target(s) not tried" in said
    assert database.version_rows() == [COMMENT]  # nothing changed
    assert "bio" not in database.column_names("user")
    assert not later.exists()


def test_squash_takes_lock_timeout_from_the_settings(tmp_path: Path, database: Database) -> None:
    """squash changes only files, and waits for no lock; the check it runs afterwards reads the
    database, and with lock_timeout = 1 it gives up on another session's lock after a second
    (not the reads' built-in 5 s), leaving the database as it was."""
    project = copy_project("squash_history", tmp_path / "project", database)
    project.upgrade("head")
    (project.root / "pyproject.toml").write_text("[tool.migdoctor]\nlock_timeout = 1\n")
    with version_table_held(database):
        squashed = squash_dropping_data_migrations(project, database)

    assert squashed.exit_code == 0, squashed
    said = " ".join(squashed.stdout.split())
    assert "Applied squash" in said
    assert "could not be checked again (Gave up reading the version table" in said, squashed
    assert "after 1s" in said, squashed
    assert database.version_rows() == [SQUASH_HEAD]
