"""``migdoctor demo``: a sandbox project with a SQLite database left in a broken state."""

from __future__ import annotations

import logging
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from migdoctor.errors import MigdoctorError

TEMPLATE = Path(__file__).parent.parent / "demo_project"
MARKER = ".migdoctor-demo"
AUTHOR, BOOK, LOAN = "4f1c2a9e7b10", "5a2d3b8f8c21", "6b3e4c9a9d32"


@dataclass(frozen=True)
class Scenario:
    name: str
    story: str


SCENARIOS = {
    "table-exists": Scenario(
        "table-exists",
        "alembic_version says only 'create author table' ran, yet a colleague created the book "
        "table by hand (and filled it). alembic upgrade head stops with "
        '"table book already exists".',
    ),
    "unknown-revision": Scenario(
        "unknown-revision",
        "the database was migrated from another branch: alembic_version holds 77525ee61b5b, "
        "which no file here defines, and even alembic current fails with \"Can't locate "
        "revision identified by '77525ee61b5b'\".",
    ),
    "stale-current": Scenario(
        "stale-current",
        "the database is two revisions behind the code, so alembic revision --autogenerate "
        'fails with "Target database is not up to date."',
    ),
}


def write_demo(directory: Path, scenario: str, force: bool = False) -> str:
    """Write the sandbox, break its database as ``scenario`` says, return what to try next."""
    if scenario not in SCENARIOS:
        raise MigdoctorError(
            f"Unknown demo scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}."
        )
    _prepare(directory, force)
    shutil.copytree(TEMPLATE, directory, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    (directory / MARKER).write_text("written by migdoctor demo; safe to delete\n")
    _break_database(directory, scenario)
    return _next_steps(directory, SCENARIOS[scenario])


def _prepare(directory: Path, force: bool) -> None:
    if not directory.exists():
        return
    if not force:
        raise MigdoctorError(
            f"{directory} already exists.",
            hint="Pass --force to replace an earlier demo, or --dir.",
        )
    if not (directory / MARKER).exists():
        raise MigdoctorError(
            f"{directory} exists and is not a migdoctor demo; it is left alone.",
            hint="Choose another folder with --dir.",
        )
    shutil.rmtree(directory)


def _break_database(directory: Path, scenario: str) -> None:
    from alembic import command

    from migdoctor.project.config import ConfigOptions, load_config

    config = load_config(ConfigOptions(config=(str(directory / "alembic.ini"),))).alembic_config()
    target = {"table-exists": AUTHOR, "unknown-revision": BOOK, "stale-current": AUTHOR}[scenario]
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        command.upgrade(config, target)
    finally:
        logging.disable(previous)
    database = sqlite3.connect(directory / "library.db")
    with database:
        database.executemany(
            "INSERT INTO author (id, name) VALUES (?, ?)",
            [(1, "Ursula K. Le Guin"), (2, "Italo Calvino")],
        )
        if scenario == "table-exists":
            database.execute(
                "CREATE TABLE book (id INTEGER NOT NULL PRIMARY KEY, title VARCHAR(200) NOT NULL, "
                "author_id INTEGER NOT NULL REFERENCES author (id))"
            )
        if scenario in ("table-exists", "unknown-revision"):
            database.executemany(
                "INSERT INTO book (id, title, author_id) VALUES (?, ?, ?)",
                [(1, "A Wizard of Earthsea", 1), (2, "Invisible Cities", 2)],
            )
        if scenario == "unknown-revision":
            database.execute("UPDATE alembic_version SET version_num = '77525ee61b5b'")
    database.close()


def _next_steps(directory: Path, scenario: Scenario) -> str:
    return "\n".join(
        [
            f"Wrote a demo project to {directory}/ with a SQLite database in a broken state:",
            f"  {scenario.story}",
            "",
            "Try:",
            f"  cd {directory}",
            "  migdoctor check                 # name the problem and prove it",
            "  migdoctor fix --interactive     # repair it, with your consent",
            "  migdoctor undo                  # take the repair back",
            "",
            "Other broken states: migdoctor demo --force --scenario unknown-revision "
            "(or stale-current).",
        ]
    )
