"""Fleets: ``check --targets`` and ``upgrade --targets`` over SQLite files and databases on the
MySQL and PostgreSQL servers, through the installed CLI."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Database, _fresh_server_database
from tests.helpers import COMMENT, USER, copy_project


@pytest.fixture
def servers() -> Iterator[tuple[Database, Database]]:
    with _fresh_server_database("mysql") as mysql, _fresh_server_database("postgresql") as pg:
        yield mysql, pg


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def test_check_every_target_of_the_file(tmp_path: Path, servers: tuple[Database, Database]) -> None:
    mysql, postgres = servers
    project = copy_project("blog", tmp_path / "project", None)
    at_head, behind = tmp_path / "head.db", tmp_path / "behind.db"
    for path, revision in ((at_head, "head"), (behind, USER)):
        assert project.migdoctor("--url", sqlite_url(path), "upgrade", revision).exit_code == 0
    assert project.migdoctor("--url", mysql.url, "upgrade").exit_code == 0
    (tmp_path / "targets.txt").write_text(
        "# name url [-x key=value]\n"
        f"head    {sqlite_url(at_head)}\n"
        f"behind  {sqlite_url(behind)}   # a tenant not upgraded yet\n"
        f"mysql   {mysql.url} -x tenant=m\n"
        f"pg      {postgres.url}\n"
        f"missing {sqlite_url(tmp_path / 'nowhere' / 'x.db')}\n"
    )

    result = project.migdoctor(
        "check", "--targets", str(tmp_path / "targets.txt"), "--format", "json", "--jobs", "2"
    )

    document = result.json()
    assert result.exit_code == 2 == document["exit_code"]  # the worst: one could not be checked
    by_name = {target["name"]: target for target in document["targets"]}
    assert list(by_name) == ["head", "behind", "mysql", "pg", "missing"]  # file order
    assert {name: t["status"] for name, t in by_name.items()} == {
        "head": "healthy",
        "behind": "problems",
        "mysql": "healthy",
        "pg": "problems",
        "missing": "could not check",
    }
    assert by_name["mysql"]["x_arguments"] == ["tenant=m"]
    assert by_name["behind"]["report"]["database"]["current"] == [USER]
    assert [f["check"] for f in by_name["behind"]["report"]["findings"]] == ["stale-current"]
    assert "does not exist" in by_name["missing"]["error"]
    text = project.migdoctor("check", "--targets", str(tmp_path / "targets.txt"))
    assert text.exit_code == 2
    assert "2 healthy, 2 with problems, 1 could not be checked" in text.stdout
    assert "stale-current" in text.stdout


def test_upgrade_stops_at_the_first_failure_and_resumes(tmp_path: Path) -> None:
    project = copy_project("blog", tmp_path / "project", None)
    first, broken, last = (tmp_path / f"{name}.db" for name in ("first", "broken", "last"))
    # a tenant where someone created the article table by hand: the preflight refuses there
    assert project.migdoctor("--url", sqlite_url(broken), "upgrade", USER).exit_code == 0
    with sqlite3.connect(broken) as connection:
        connection.execute("CREATE TABLE article (id INTEGER PRIMARY KEY)")
    targets = tmp_path / "targets.txt"
    targets.write_text(
        f"first {sqlite_url(first)}\nbroken {sqlite_url(broken)}\nlast {sqlite_url(last)}\n"
    )

    stopped = project.migdoctor("upgrade", "--targets", str(targets))

    assert stopped.exit_code == 1, stopped
    assert "first (sqlite:///" in stopped.stdout and "table-exists" in stopped.stdout
    assert "1 of 3 targets upgraded; not: broken" in stopped.stdout
    assert "1 target(s) not tried" in stopped.stdout
    assert not last.exists()  # never tried
    # --keep-going tries the rest; the repaired tenant then goes on like the others
    going = project.migdoctor("upgrade", "--targets", str(targets), "--keep-going")
    assert going.exit_code == 1, going
    assert "2 of 3 targets upgraded; not: broken" in going.stdout
    with sqlite3.connect(broken) as connection:
        connection.execute("DROP TABLE article")
    resumed = project.migdoctor("upgrade", "--targets", str(targets))
    assert resumed.exit_code == 0, resumed
    assert resumed.stdout.count("Nothing to upgrade") == 2
    for path in (first, broken, last):
        with sqlite3.connect(path) as connection:
            assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [
                (COMMENT,)
            ]


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("alpha\n", "targets.txt:1: a target needs a name and a URL"),
        ("alpha sqlite:///a.db\nalpha sqlite:///b.db\n", "the name 'alpha' is already used"),
        ("alpha a.db\n", "'a.db' is not a database URL"),
        ("alpha sqlite:///a.db --jobs 3\n", "unexpected '--jobs' after the URL"),
        ("# nothing\n\n", "names no target"),
    ],
)
def test_a_mistake_in_the_targets_file_names_its_line(
    tmp_path: Path, content: str, said: str
) -> None:
    project = copy_project("blog", tmp_path / "project", None)
    (tmp_path / "targets.txt").write_text(content)

    result = project.migdoctor("check", "--targets", str(tmp_path / "targets.txt"))

    assert result.exit_code == 2
    assert said in result.stderr
    assert "Traceback" not in result.output


def test_the_attempts_of_each_target_name_its_database(tmp_path: Path) -> None:
    # the targets of a fleet share the project's journal: `undo --list` says which database
    # each attempt of a run with --retries was on
    project = copy_project("blog", tmp_path / "project", None)
    free, locked = tmp_path / "free.db", tmp_path / "locked.db"
    assert project.migdoctor("--url", sqlite_url(locked), "upgrade", USER).exit_code == 0
    targets = tmp_path / "targets.txt"
    targets.write_text(f"free {sqlite_url(free)}\nlocked {sqlite_url(locked)}\n")
    holder = sqlite3.connect(locked, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # its write lock: the reads go on, the upgrade waits
    try:
        result = project.migdoctor(
            "upgrade",
            "--targets",
            str(targets),
            "--keep-going",
            "--retries",
            "1",
            "--lock-timeout",
            "1",
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert result.exit_code == 1, result
    assert "1 of 2 targets upgraded; not: locked" in result.stdout, result
    listed = project.migdoctor("undo", "--list")
    assert "on sqlite:///" in listed.output and "locked.db" in listed.output, listed
    assert "free.db" in listed.output, listed
