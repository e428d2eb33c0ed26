"""First, do no harm: ``migdoctor undo`` never drops what the fix it undoes did not create, says
what it drops with the row counts before consent, passes over a fix that cannot be undone, and
explains an entry whose process was killed. Driven through the installed CLI on SQLite, MySQL
and PostgreSQL, asserting on the database, the files and the journal afterwards."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import Database
from tests.helpers import (
    Project,
    add_revision,
    copy_project,
    create_article_outside_migrations,
    journal,
    migdoctor_command,
    run,
    run_in_terminal,
)

USER, ARTICLE, COMMENT = "1a2b3c4d5e6f", "2b3c4d5e6f70", "3c4d5e6f7081"
EXTRA = "4d5e6f708192"
ARTICLE_FILE = "2b3c4d5e6f70_create_article_table.py"


def quoted(database: Database, name: str) -> str:
    return f"`{name}`" if database.backend == "mysql" else f'"{name}"'


def add_users(database: Database, count: int) -> None:
    user = quoted(database, "user")
    database.execute(
        *(
            f"INSERT INTO {user} (id, username, email) VALUES ({n}, 'u{n}', 'u{n}@example.org')"
            for n in range(1, count + 1)
        )
    )


# -- class 1: an undo never destroys what no fix created -------------------------------------------


def test_demo_neutered_revision_then_upgrade_then_undo_keeps_the_book_table(
    tmp_path: Path,
) -> None:
    """The case as it was seen: the demo's book table existed (with rows) before the run."""
    root = tmp_path / "demo"
    made = run([*migdoctor_command(), "demo", "--dir", str(root)], tmp_path)
    assert made.exit_code == 0, made
    demo = Project(root, None)
    books = Database("sqlite", f"sqlite:///{next(root.glob('*.db'))}")
    rows_before = books.scalars("SELECT COUNT(*) FROM book")[0]
    assert rows_before
    path = root / "migrations" / "versions" / "5a2d3b8f8c21_create_book_table.py"
    original = path.read_bytes()

    neutered = demo.migdoctor("fix", "neuter-upgrade", "--revision", "5a2d3b8f8c21", "--yes")
    upgraded = demo.migdoctor("fix", "upgrade", "--yes")
    undone = demo.migdoctor("undo", "--yes")

    assert neutered.exit_code == 0, neutered
    assert '-    op.drop_table("book")' in neutered.stdout  # the downgrade is emptied, shown
    assert upgraded.exit_code == 0, upgraded
    assert undone.exit_code == 0, undone
    assert "table loan (0 rows) — created by the fix being undone" in undone.stdout
    assert "book" in books.table_names()
    assert books.scalars("SELECT COUNT(*) FROM book")[0] == rows_before
    assert books.version_rows() == ["4f1c2a9e7b10"]
    restored = demo.migdoctor("undo", "--yes")
    assert restored.exit_code == 0, restored
    assert path.read_bytes() == original  # both bodies back, byte for byte


def test_undo_of_an_upgrade_over_a_neutered_revision_keeps_the_table_and_its_rows(
    blog: Project, database: Database
) -> None:
    blog.upgrade(USER)
    create_article_outside_migrations(database)
    add_users(database, 1)
    database.execute(
        "INSERT INTO article (id, title, body, user_id) VALUES (1, 'kept', 'text', 1)",
        "INSERT INTO article (id, title, body, user_id) VALUES (2, 'kept too', 'text', 1)",
    )
    path = blog.versions / ARTICLE_FILE
    original = path.read_bytes()

    neutered = blog.migdoctor("fix", "neuter-upgrade", "--revision", ARTICLE, "--yes")
    assert neutered.exit_code == 0, neutered
    assert "-    op.drop_table('article')" in neutered.stdout
    text_now = path.read_text()
    assert "op.drop_table('article')" not in text_now
    assert "op.create_table('article'" not in text_now
    assert blog.migdoctor("fix", "upgrade", "--yes").exit_code == 0
    database.execute("INSERT INTO comment (id, article_id, content) VALUES (1, 1, 'hello')")

    undone = blog.migdoctor("undo", "--yes")

    assert undone.exit_code == 0, undone
    plan = undone.stdout.split("[1/")[0]  # what was shown before anything ran
    assert "3c4d5e6f7081: table comment (1 row) — created by the fix being undone" in plan
    assert "article" not in plan.split("Runs ")[0]  # nothing else dropped
    assert database.version_rows() == [USER]
    assert "article" in database.table_names()
    assert database.scalars("SELECT COUNT(*) FROM article") == [2]
    assert "comment" not in database.table_names()
    # the journal says what the upgrade created, revision by revision
    done = [r for r in journal(blog) if r["event"] == "revision-done"]
    assert [(r["revision"], r["created"]["tables"]) for r in done[:2]] == [
        (ARTICLE, []),
        (COMMENT, ["comment"]),
    ]
    assert blog.migdoctor("undo", "--yes").exit_code == 0  # the neutering
    assert path.read_bytes() == original


def test_undo_of_neuter_upgrade_past_the_revision_warns_about_its_downgrade(
    blog: Project, database: Database
) -> None:
    blog.upgrade(USER)
    create_article_outside_migrations(database)
    path = blog.versions / ARTICLE_FILE
    original = path.read_bytes()
    assert blog.migdoctor("fix", "neuter-upgrade", "--revision", ARTICLE, "--yes").exit_code == 0
    assert blog.migdoctor("upgrade").exit_code == 0  # the plain command: not a fix

    undone = blog.migdoctor("undo", "--yes")

    assert undone.exit_code == 0, undone
    assert f"The database is past {ARTICLE}" in undone.stdout
    assert path.read_bytes() == original
    assert "article" in database.table_names()


def test_undo_refuses_to_drop_a_table_that_existed_before_the_upgrade(
    blog: Project, database: Database
) -> None:
    """The general mechanism: whatever the upgrade() says, what the run did not create is
    never dropped by undo (here a revision creates its table only if it is missing)."""
    blog.upgrade("head")
    database.execute(
        "CREATE TABLE archive (id INTEGER PRIMARY KEY, note VARCHAR(50))",
        "INSERT INTO archive (id, note) VALUES (1, 'a')",
        "INSERT INTO archive (id, note) VALUES (2, 'b')",
    )
    add_revision(
        blog,
        EXTRA,
        COMMENT,
        'op.execute("CREATE TABLE IF NOT EXISTS archive (id INTEGER PRIMARY KEY, note '
        'VARCHAR(50))")',
        downgrade="op.drop_table('archive')",
        message="archive",
    )
    assert blog.migdoctor("fix", "upgrade", "--yes").exit_code == 0

    refused = blog.migdoctor("undo", "--yes")

    assert refused.exit_code == 1, refused
    assert "table archive (2 rows) — existed before that fix" in refused.stdout
    assert "existed before the upgrade" in refused.stdout
    assert "nothing restored" in refused.stdout
    assert database.scalars("SELECT COUNT(*) FROM archive") == [2]
    assert database.version_rows() == [EXTRA]
    events = [r["event"] for r in journal(blog)]
    assert events.count("started") == 1  # the refused undo changed nothing, not even the journal


def test_undo_says_how_many_values_a_column_it_drops_holds(
    blog: Project, database: Database
) -> None:
    blog.upgrade("head")
    add_revision(
        blog,
        EXTRA,
        COMMENT,
        "op.add_column('user', sa.Column('bio', sa.Text(), nullable=True))",
        downgrade="op.drop_column('user', 'bio')",
        message="add bio",
    )
    add_users(database, 3)
    assert blog.migdoctor("fix", "upgrade", "--yes").exit_code == 0
    user = quoted(database, "user")
    database.execute(f"UPDATE {user} SET bio = 'hi' WHERE id < 3")

    shown = blog.migdoctor("undo")  # no terminal, no --yes: shown, refused, nothing changed
    undone = blog.migdoctor("undo", "--yes")

    assert shown.exit_code == 2, shown
    assert "column user.bio (2 rows with a value) — created by the fix being undone" in shown.stdout
    assert undone.exit_code == 0, undone
    assert "bio" not in database.column_names("user")
    assert database.scalars(f"SELECT COUNT(*) FROM {user}") == [3]


def test_a_fix_upgrade_that_drops_a_table_counts_its_rows_first(
    blog: Project, database: Database
) -> None:
    blog.upgrade("head")
    database.execute("INSERT INTO " + quoted(database, "user") + " VALUES (1, 'a', 'a@b.c')")
    add_revision(blog, EXTRA, COMMENT, "op.drop_table('comment')", message="drop comment")
    database.execute("INSERT INTO article (id, title, body, user_id) VALUES (1, 't', 'b', 1)")
    database.execute("INSERT INTO comment (id, article_id, content) VALUES (1, 1, 'x')")

    shown = blog.migdoctor("fix", "upgrade", "--dry-run")

    assert shown.exit_code == 0, shown
    assert f"{EXTRA}: table comment (1 row)" in shown.stdout
    assert "comment" in database.table_names()


def test_guarded_downgrade_counts_the_rows_it_drops_before_it_runs(
    blog: Project, database: Database
) -> None:
    blog.upgrade("head")
    add_users(database, 1)
    database.execute(
        "INSERT INTO article (id, title, body, user_id) VALUES (1, 't', 'b', 1)",
        "INSERT INTO comment (id, article_id, content) VALUES (1, 1, 'x')",
        "INSERT INTO comment (id, article_id, content) VALUES (2, 1, 'y')",
    )

    on_terminal = run_in_terminal([*migdoctor_command(), "downgrade", "-1"], blog.root)
    assert on_terminal.exit_code == 1, on_terminal  # Enter: the default is no
    assert f"{COMMENT}: table comment (2 rows)" in on_terminal.stdout
    assert "Nothing was changed" in on_terminal.stdout
    assert database.scalars("SELECT COUNT(*) FROM comment") == [2]

    scripted = blog.migdoctor("downgrade", "-1")  # the command itself is the consent

    assert scripted.exit_code == 0, scripted
    shown = scripted.stdout.split("[1/1]")[0]
    assert f"{COMMENT}: table comment (2 rows)" in shown
    assert database.version_rows() == [ARTICLE]


def test_downgrade_refuses_to_drop_tables_a_stamp_recorded_until_forced_or_migrated_again(
    blog: Project, database: Database
) -> None:
    """Tables that were there before ``fix stamp`` recorded their revisions as applied (the
    stamped revision's and the one it skipped) are not dropped by a downgrade without --force;
    once migdoctor has run their upgrade, a downgrade drops them as any other."""
    blog.upgrade(ARTICLE)
    add_users(database, 1)
    database.execute(
        "INSERT INTO article (id, title, body, user_id) VALUES (1, 't', 'b', 1)",
        "DELETE FROM alembic_version",
    )
    assert blog.migdoctor("fix", "stamp", "--revision", ARTICLE, "--yes").exit_code == 0
    assert blog.migdoctor("upgrade").exit_code == 0

    refused = blog.migdoctor("downgrade", "base")

    assert refused.exit_code == 1, refused
    said = " ".join(refused.stdout.split())
    assert f"{USER}: table user (1 row) — recorded as applied by fix stamp" in said  # skipped
    assert f"{ARTICLE}: table article (1 row) — recorded as applied by fix stamp" in said
    assert f"{COMMENT}: table comment (0 rows)" in said
    assert "No migration created table article and table user" in said
    assert f"migdoctor downgrade {ARTICLE}, then migdoctor stamp base" in said
    assert "Nothing was changed" in said
    assert database.version_rows() == [COMMENT]
    assert {"user", "article", "comment"} <= database.table_names()

    to_the_stamp = blog.migdoctor("downgrade", ARTICLE)  # drops only what a migration made
    assert to_the_stamp.exit_code == 0, to_the_stamp
    assert "comment" not in database.table_names()
    assert database.scalars("SELECT COUNT(*) FROM article") == [1]

    forced = blog.migdoctor("downgrade", "base", "--force")
    assert forced.exit_code == 0, forced
    assert "recorded as applied by fix stamp" in " ".join(forced.stdout.split())
    assert not {"user", "article"} & database.table_names()

    assert blog.migdoctor("upgrade").exit_code == 0  # now a migration creates every table
    again = blog.migdoctor("downgrade", "base")
    assert again.exit_code == 0, again
    assert "recorded as applied" not in again.stdout
    assert database.version_rows() == []


def test_without_a_ledger_the_journal_of_fix_stamp_tells_what_no_migration_created(
    blog: Project, database: Database
) -> None:
    blog.ini.write_text(blog.ini.read_text() + "\n[migdoctor]\nledger = false\n")
    blog.upgrade(ARTICLE)
    database.execute("DELETE FROM alembic_version")
    assert blog.migdoctor("fix", "stamp", "--revision", ARTICLE, "--yes").exit_code == 0
    assert "migdoctor_ledger" not in database.table_names()

    refused = blog.migdoctor("downgrade", "base")

    assert refused.exit_code == 1, refused
    said = " ".join(refused.stdout.split())
    assert f"{USER}: table user (0 rows) — recorded as applied by fix stamp" in said
    assert "(journal " in said
    assert database.version_rows() == [ARTICLE]


def test_a_stamp_down_and_up_again_over_migrated_tables_does_not_block_the_downgrade(
    blog: Project, database: Database
) -> None:
    """Tables a migration made stay made by it when the version table is stamped down and up
    again (the ledger records the stamp down as unstamp, and each revision a stamp skips)."""
    assert blog.migdoctor("upgrade").exit_code == 0
    add_users(database, 1)
    assert blog.migdoctor("stamp", USER).exit_code == 0
    assert blog.migdoctor("stamp", "head").exit_code == 0
    log = blog.migdoctor("log", "--format", "json")
    assert log.exit_code == 0, log
    moves = [(e["revision"], e["direction"]) for e in log.json()["entries"]]
    assert (COMMENT, "unstamp") in moves and (ARTICLE, "unstamp") in moves
    assert (COMMENT, "stamp") in moves and (ARTICLE, "stamp") in moves

    downgraded = blog.migdoctor("downgrade", "base")

    assert downgraded.exit_code == 0, downgraded
    assert "recorded as applied" not in downgraded.stdout
    assert database.version_rows() == []
    assert not {"user", "article", "comment"} & database.table_names()


def test_undo_of_complete_revision_counts_rows_and_keeps_what_the_failed_run_made(
    blog: Project, database: Database
) -> None:
    blog.upgrade("head")
    add_revision(
        blog,
        EXTRA,
        COMMENT,
        "op.create_table('label', sa.Column('id', sa.Integer(), primary_key=True), "
        "sa.Column('name', sa.String(50)))\n"
        "op.create_table('label_note', sa.Column('id', sa.Integer(), primary_key=True), "
        "sa.Column('note', sa.String(50)))",
        downgrade="op.drop_table('label_note')\nop.drop_table('label')",
        message="labels",
    )
    database.execute(
        "CREATE TABLE label (id INTEGER PRIMARY KEY, name VARCHAR(50))",
        "INSERT INTO label (id, name) VALUES (1, 'kept')",
    )
    completed = blog.migdoctor("fix", "complete-revision", "--yes")
    assert completed.exit_code == 0, completed
    database.execute("INSERT INTO label_note (id, note) VALUES (1, 'n'), (2, 'm')")

    shown = blog.migdoctor("undo", "--dry-run")
    undone = blog.migdoctor("undo", "--yes")

    assert shown.exit_code == 0, shown
    assert f"{EXTRA}: table label_note (2 rows) — created by the fix being undone" in shown.stdout
    assert "table label " not in shown.stdout and "table label (" not in shown.stdout
    assert undone.exit_code == 0, undone
    assert "label_note" not in database.table_names()
    assert database.scalars("SELECT COUNT(*) FROM label") == [1]
    assert database.version_rows() == [COMMENT]


def test_undo_of_a_stamp_touches_no_table_and_says_what_changed_since(
    blog: Project, database: Database
) -> None:
    blog.upgrade(USER)
    create_article_outside_migrations(database)
    assert blog.migdoctor("fix", "stamp", "--revision", ARTICLE, "--yes").exit_code == 0
    database.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)", "INSERT INTO notes VALUES (1)")

    undone = blog.migdoctor("undo", "--yes")

    assert undone.exit_code == 0, undone
    assert "Since the fix, tables were created notes" in undone.stdout
    assert "Drops" not in undone.stdout
    assert database.version_rows() == [USER]
    assert {"article", "notes"} <= database.table_names()
    assert database.scalars("SELECT COUNT(*) FROM notes") == [1]


def test_autogenerate_revision_counts_the_rows_its_upgrade_would_drop(
    blog: Project, database: Database
) -> None:
    blog.upgrade("head")
    database.execute(
        "CREATE TABLE legacy (id INTEGER PRIMARY KEY)",
        "INSERT INTO legacy VALUES (1)",
        "INSERT INTO legacy VALUES (2)",
    )

    shown = blog.migdoctor("fix", "autogenerate-revision", "--dry-run")

    assert shown.exit_code == 0, shown
    assert "table legacy (2 rows)" in shown.stdout
    assert database.scalars("SELECT COUNT(*) FROM legacy") == [2]


def test_undo_keeps_a_merge_revision_the_database_is_at(blog: Project, database: Database) -> None:
    blog.upgrade("head")
    side = blog.migdoctor(
        "revision", "-m", "side", "--rev-id", "5e5e5e5e5e5e", "--head", USER, "--splice"
    )
    assert side.exit_code == 0, side
    assert blog.migdoctor("fix", "merge-heads", "--yes").exit_code == 0
    assert blog.migdoctor("upgrade", "heads").exit_code == 0
    merge_rows = database.version_rows()

    refused = blog.migdoctor("undo", "--yes")

    assert refused.exit_code == 1, refused
    assert "taking it away would leave alembic unable to read the version table" in (refused.stdout)
    assert database.version_rows() == merge_rows
    applied = next(r for r in journal(blog) if r["event"] == "applied")
    assert Path(applied["after"]["created"][0]["path"]).exists()


# -- class 10: a fix that cannot be undone does not block the ones before it -----------------------


@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_end_session_is_passed_over_and_the_stamp_before_it_is_undone(
    tmp_path: Path, server_database: Database
) -> None:
    project = copy_project("blog", tmp_path / "project", server_database)
    project.upgrade(USER)
    create_article_outside_migrations(server_database)
    add_revision(
        project,
        EXTRA,
        COMMENT,
        "op.add_column('user', sa.Column('bio', sa.Text(), nullable=True))",
        downgrade="op.drop_column('user', 'bio')",
        message="add bio",
    )
    assert project.migdoctor("fix", "stamp", "--revision", ARTICLE, "--yes").exit_code == 0
    blocker = server_database.engine().connect()
    blocker.execute(text(f"SELECT * FROM {quoted(server_database, 'user')}"))  # stays open
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
        ended = project.migdoctor("fix", "end-session", "--session", session, "--yes")
    finally:
        with contextlib.suppress(Exception):
            blocker.close()

    assert ended.exit_code == 0, ended
    applied_line = next(line for line in ended.stdout.splitlines() if "Applied" in line)
    assert "cannot be undone" in applied_line
    assert "undo takes it back" not in applied_line
    started = [r for r in journal(project) if r["event"] == "started"]
    assert started[-1]["irreversible"]

    undone = project.migdoctor("undo", "--yes")

    assert undone.exit_code == 0, undone
    assert "Passed over end-session" in undone.stdout
    assert "cannot be undone" in undone.stdout
    assert server_database.version_rows() == [USER]
    assert "article" in server_database.table_names()
    again = project.migdoctor("undo", "--yes")
    assert again.exit_code == 0, again
    assert "Nothing to undo" in again.stdout


# -- class 4: an entry whose process was killed is explained ---------------------------------------


def test_undo_explains_a_fix_killed_with_sigkill(
    blog: Project, database: Database, tmp_path: Path
) -> None:
    blog.upgrade(USER)
    marker = tmp_path / "running"
    add_revision(
        blog,
        EXTRA,
        COMMENT,
        "op.add_column('user', sa.Column('bio', sa.Text(), nullable=True))\n"
        "if not op.get_context().as_sql and os.environ.get('UNDO_TEST_MARKER'):\n"
        "    pathlib.Path(os.environ['UNDO_TEST_MARKER']).write_text('running')\n"
        "    time.sleep(120)",
        downgrade="op.drop_column('user', 'bio')",
        message="slow bio",
        imports="import os, pathlib, time",
    )
    process = subprocess.Popen(
        [*migdoctor_command(), "fix", "upgrade", "--yes"],
        cwd=blog.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "UNDO_TEST_MARKER": str(marker), "COLUMNS": "200"},
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        assert marker.exists(), "the fix never reached its slow revision"
        while_running = blog.migdoctor("undo", "--yes")
        process.send_signal(signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
    # a fix still running is never taken for dead
    assert while_running.exit_code == 1, while_running
    assert f"Its process ({process.pid}) is still running" in while_running.stdout
    events = journal(blog)
    entry = events[0]["id"]
    assert [r["event"] for r in events] == ["started", "revision-done", "revision-done"]
    rows = database.version_rows()

    undone = blog.migdoctor("undo", "--yes")

    assert "Traceback" not in undone.output
    assert f"journal entry {entry}" in undone.stdout
    assert "never finished" in undone.stdout
    assert f"{EXTRA} was running when it stopped" in undone.stdout
    if rows == [USER] and database.backend == "postgresql":
        # one transaction with transactional DDL: the whole run was rolled back
        assert undone.exit_code == 0, undone
        assert "Nothing of it shows" in undone.stdout
    else:
        assert undone.exit_code == 1, undone
        assert "migdoctor check" in undone.stdout
    assert database.version_rows() == rows  # undo guessed nothing
    closed = journal(blog)[-1]
    assert closed["id"] == entry and closed["event"] == "interrupted"
    assert closed["found_by"] == "undo"
    again = blog.migdoctor("undo", "--yes")
    assert again.exit_code == 0, again
    assert "Passed over upgrade" in again.stdout and "Nothing to undo" in again.stdout


# -- class 11: nothing to do is not a failure ------------------------------------------------------


def test_nothing_to_undo_and_upgrade_at_head_exit_zero(blog: Project, database: Database) -> None:
    blog.upgrade("head")

    nothing = blog.migdoctor("undo", "--yes")
    at_head = blog.migdoctor("fix", "upgrade", "--yes")

    assert nothing.exit_code == 0, nothing
    assert "Nothing to undo" in nothing.stdout
    assert at_head.exit_code == 0, at_head
    assert "Nothing to upgrade" in at_head.stdout
    assert journal(blog) == []


# -- what a downgrade() drops, from its operations (pure) ------------------------------------------


@pytest.mark.parametrize(
    ("operation", "dropped"),
    [
        (("drop_table", "archive", None, (), ""), ("archive", None)),
        (("drop_column", "user", None, ("bio",), ""), ("user", "bio")),
        (("execute", None, None, (), "DROP TABLE archive"), ("archive", None)),
        (("execute", None, None, (), 'drop table if exists "archive";'), ("archive", None)),
        (("execute", None, None, (), "ALTER TABLE `user` DROP COLUMN bio"), ("user", "bio")),
        (("execute", None, None, (), "DELETE FROM archive"), None),
        (("drop_index", "user", None, (), ""), None),
    ],
)
def test_what_a_downgrade_operation_drops(operation: tuple[Any, ...], dropped: Any) -> None:
    from migdoctor.facts.operations import Operation
    from migdoctor.repair.drops import dropped_by

    kind, table, schema, columns, detail = operation
    assert dropped_by(Operation(kind, table, schema, columns, detail=detail)) == dropped
