"""``migdoctor roundtrip``: each revision upgraded then downgraded on a scratch database that the
run creates and drops, the schema compared around each, then the models at head.

The healthy blog roundtrips clean on every backend; the notes fixture's second revision forgets
to drop a column in its downgrade; a downgrade that raises and models that drift are reported.
The configured database and the one a --scratch-url names are never written to.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Database
from tests.helpers import (
    ARTICLE,
    COMMENT,
    USER,
    Project,
    add_revision,
    app_created_tables_history,
    copy_project,
    edit,
    migdoctor_command,
)

NOTEBOOK, NOTE, LABEL = "a1b2c3d4e5f6", "b2c3d4e5f6a7", "c3d4e5f6a7b8"
LABEL_FILE = f"alembic/versions/{LABEL}_create_label_table.py"


def scratch_arguments(database: Database) -> list[str]:
    """The scratch database's server: the test's own database on it (only connected to)."""
    return [] if database.backend == "sqlite" else ["--scratch-url", database.url]


def scratch_databases(database: Database) -> set[str]:
    """The scratch databases on the test database's server."""
    if database.backend == "mysql":
        rows = database.scalars("SHOW DATABASES LIKE 'migdoctor_roundtrip_%'")
    else:
        rows = database.scalars(
            "SELECT datname FROM pg_database WHERE datname LIKE 'migdoctor_roundtrip_%'"
        )
    return {str(row) for row in rows}


def roundtrip_json(project: Project, database: Database, expected_exit: int) -> dict[str, Any]:
    result = project.migdoctor("roundtrip", "--format", "json", *scratch_arguments(database))
    assert result.exit_code == expected_exit, result
    document: dict[str, Any] = result.json()
    return document


def by_revision(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["revision"]: entry for entry in document["revisions"]}


def assert_untouched(project: Project, database: Database) -> None:
    """Neither the configured database nor the one the scratch URL names was written to."""
    if database.backend == "sqlite":
        assert not (project.root.parent / "app.db").exists()
    else:
        assert database.table_names() == set()


@pytest.mark.databases
def test_a_healthy_project_roundtrips_clean(blog: Project, database: Database) -> None:
    document = roundtrip_json(blog, database, 0)

    revisions = by_revision(document)
    assert list(revisions) == [USER, ARTICLE, COMMENT]
    for entry in revisions.values():
        assert (entry["upgrade"], entry["downgrade"]) == ("passed", "passed"), entry
        assert entry["downgrade_differences"] == []
    assert document["models"] == {"compared": True, "not_compared_because": None, "differences": []}
    assert document["scratch"]["dialect"] == database.backend
    assert_untouched(blog, database)
    if database.backend != "sqlite":
        scratch = document["scratch"]["database"].rsplit("/", 1)[1]
        assert scratch.startswith("migdoctor_roundtrip_")
        assert scratch not in scratch_databases(database)


def test_the_text_report_says_each_revision_restores_the_schema(blog_offline: Project) -> None:
    result = blog_offline.migdoctor("roundtrip")

    assert result.exit_code == 0, result
    assert "scratch   a temporary SQLite file" in result.stdout
    for revision in (USER, ARTICLE, COMMENT):
        assert f"✓ {revision} " in result.stdout
    assert "✓ the models match the schema at head" in result.stdout
    assert "--scratch-url" not in result.stdout
    assert not (blog_offline.root / "blog.db").exists()


@pytest.mark.databases
def test_a_downgrade_that_forgets_a_column_is_named(tmp_path: Path, database: Database) -> None:
    notes = copy_project("notes", tmp_path / "project", database)

    document = roundtrip_json(notes, database, 1)

    revisions = by_revision(document)
    assert revisions[NOTE]["verdict"] == "downgrade does not restore the schema"
    [left] = revisions[NOTE]["downgrade_differences"]
    assert (left["change"], left["kind"], left["table"], left["name"]) == (
        "left behind",
        "column",
        "notebook",
        "archived",
    )
    # the revisions before and after it are judged on their own (the database was rebuilt)
    assert not revisions[NOTEBOOK]["problem"] and not revisions[LABEL]["problem"]
    assert document["summary"] == {"problems": 1}
    assert_untouched(notes, database)


def test_the_leftover_is_shown_under_its_revision(tmp_path: Path) -> None:
    notes = copy_project("notes", tmp_path / "project", None)

    result = notes.migdoctor("roundtrip")

    assert result.exit_code == 1, result
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if f"✗ {NOTE} " in line)
    assert "downgrade does not restore the schema" in lines[at]
    assert "left behind: column notebook.archived" in lines[at + 1]
    assert "1 problem found" in result.stdout


def test_a_downgrade_raising_not_implemented_is_reported(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "project", None)
    edit(
        blog,
        "alembic/versions/2b3c4d5e6f70_create_article_table.py",
        "    op.drop_table('article')",
        "    raise NotImplementedError('articles cannot be taken back')",
    )

    result = blog.migdoctor("roundtrip", "--format", "json")

    assert result.exit_code == 1, result
    revisions = by_revision(result.json())
    assert revisions[ARTICLE]["downgrade"] == "failed"
    error = revisions[ARTICLE]["downgrade_error"]
    assert error.startswith("NotImplementedError: articles cannot be taken back")
    assert "2b3c4d5e6f70_create_article_table.py:" in error
    assert not revisions[USER]["problem"] and not revisions[COMMENT]["problem"]


def test_models_that_drift_from_the_head_are_reported(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "project", None)
    edit(
        blog,
        "models.py",
        "    content = Column(String(500), nullable=False)",
        "    content = Column(String(500), nullable=False)\n    score = Column(Integer)",
    )

    result = blog.migdoctor("roundtrip")

    assert result.exit_code == 1, result
    assert "✗ the models differ from the schema at head" in result.stdout
    assert "column comment.score (INTEGER) is in the models but not in the database" in (
        result.stdout
    )
    assert result.stdout.count("✓ ") == 3  # every revision itself is fine


@pytest.mark.parametrize("server_database", ["postgresql", "mysql"], indirect=True)
def test_the_scratch_database_is_dropped_on_ctrl_c(
    tmp_path: Path, server_database: Database
) -> None:
    blog = copy_project("blog", tmp_path / "project", server_database)
    started = tmp_path / "started"
    edit(
        blog,
        "alembic/versions/3c4d5e6f7081_add_comment_table.py",
        '    """Upgrade schema."""',
        f'    """Upgrade schema."""\n    import pathlib, time\n'
        f"    pathlib.Path({str(started)!r}).touch()\n    time.sleep(60)",
    )
    before = scratch_databases(server_database)
    environment = {**os.environ, "NO_COLOR": "1"}
    process = subprocess.Popen(
        [*migdoctor_command(), "roundtrip", "--scratch-url", server_database.url],
        cwd=blog.root,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert started.exists(), process.communicate()
    during = scratch_databases(server_database) - before  # other workers' round trips too

    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    named = re.search(
        r"interrupted; the scratch database (migdoctor_roundtrip_\w+) was dropped", stderr
    )
    assert named is not None, stderr
    assert named.group(1) in during  # it was there while the round trip ran
    assert named.group(1) not in scratch_databases(server_database)
    assert server_database.table_names() == set()


def test_a_scratch_url_for_sqlite_is_refused(blog_offline: Project) -> None:
    result = blog_offline.migdoctor("roundtrip", "--scratch-url", "sqlite:///x.db")

    assert result.exit_code == 2, result
    assert "--scratch-url must name a MySQL/MariaDB or PostgreSQL server" in result.stderr
    assert "Traceback" not in result.output


def test_an_unreachable_scratch_server_cannot_run(blog_offline: Project) -> None:
    result = blog_offline.migdoctor(
        "roundtrip", "--scratch-url", "postgresql+psycopg://nobody:secret@127.0.0.1:9/none"
    )

    assert result.exit_code == 2, result
    assert "Could not create the scratch database" in result.stderr
    assert "secret" not in result.output
    assert "Traceback" not in result.output


def test_branches_and_their_merge_roundtrip_each_after_its_parents(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "project", None)
    add_revision(
        blog,
        "b1tag000000a",
        USER,
        "op.create_table('tag', sa.Column('id', sa.Integer(), primary_key=True))",
        "op.drop_table('tag')",
        message="create tag table",
    )
    add_revision(blog, "m1merge0000a", (COMMENT, "b1tag000000a"), "pass", message="merge")
    models = blog.root / "models.py"
    models.write_text(
        models.read_text() + '\n\nclass Tag(Base):\n    __tablename__ = "tag"\n\n'
        "    id = Column(Integer, primary_key=True)\n"
    )

    result = blog.migdoctor("roundtrip", "--format", "json")

    assert result.exit_code == 0, result
    order = list(by_revision(result.json()))
    assert sorted(order) == sorted([USER, ARTICLE, COMMENT, "b1tag000000a", "m1merge0000a"])
    assert order.index(USER) < order.index("b1tag000000a") < order.index("m1merge0000a")
    assert order.index(COMMENT) < order.index("m1merge0000a")


def test_a_flask_migrate_project_roundtrips_without_creating_its_database(tmp_path: Path) -> None:
    flask_app = copy_project("flask_app", tmp_path / "project", None)

    result = flask_app.migdoctor("roundtrip")

    assert result.exit_code == 0, result
    assert "✓ the models match the schema at head" in result.stdout
    # env.py connects to the application's database before alembic is handed the scratch one
    assert not (flask_app.root / "app.db").exists()


def test_an_upgrade_that_fails_stops_the_walk_up_and_is_named(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "project", None)
    edit(
        blog,
        "alembic/versions/2b3c4d5e6f70_create_article_table.py",
        "    # ### end Alembic commands ###",
        "    op.execute('SELECT * FROM no_such_table')",
    )

    result = blog.migdoctor("roundtrip", "--format", "json")

    assert result.exit_code == 1, result
    document = result.json()
    revisions = by_revision(document)
    assert revisions[ARTICLE]["verdict"] == "upgrade failed"
    assert "no such table: no_such_table" in revisions[ARTICLE]["upgrade_error"]
    assert revisions[COMMENT]["not_run_because"] == "an earlier upgrade failed"
    assert revisions[USER]["downgrade"] == "passed" and not revisions[USER]["problem"]
    assert document["models"]["not_compared_because"] == f"the upgrade of {ARTICLE} failed"
    assert "--scratch-url" in document["summary"]["hint"]


# full-stack-fastapi-template (github.com/fastapi/full-stack-fastapi-template): a PostgreSQL
# project whose second revision alters a column fails on the default SQLite scratch database;
# the report says how to run it on a server of the project's kind
def test_an_upgrade_that_fails_on_sqlite_points_to_a_scratch_server(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "project", None)
    edit(
        blog,
        "alembic/versions/2b3c4d5e6f70_create_article_table.py",
        "    # ### end Alembic commands ###",
        '    op.alter_column("article", "title", type_=sa.String(500))',
    )

    result = blog.migdoctor("roundtrip")

    assert result.exit_code == 1, result
    assert f"✗ {ARTICLE} " in result.stdout
    assert "The round trip ran on a temporary SQLite file." in result.stdout
    assert "with --scratch-url URL" in result.stdout


@pytest.mark.databases
def test_a_history_that_alters_tables_no_revision_creates_is_said_so(
    blog: Project, database: Database
) -> None:
    # JupyterHub (jupyterhub/jupyterhub): the first revision is empty and the application
    # creates its tables; the round trip failed on "no such table" and pointed at SQLite
    app_created_tables_history(blog)

    document = roundtrip_json(blog, database, 1)
    text = blog.migdoctor("roundtrip", *scratch_arguments(database))

    failed = by_revision(document)["a2nick"]
    assert (failed["upgrade"], failed["tables_never_created"]) == ("failed", ["member"])
    assert "It alters member, which no revision before it creates" in text.stdout, text
    assert "The round trip ran on a temporary SQLite file" not in text.stdout


@pytest.mark.parametrize("server_database", ["postgresql"], indirect=True)
def test_an_enum_type_a_downgrade_leaves_on_postgresql_is_named(
    tmp_path: Path, server_database: Database
) -> None:
    blog = copy_project("blog", tmp_path / "project", None)
    add_revision(
        blog,
        "4e5f60718293",
        COMMENT,
        "op.create_table('reaction', sa.Column('id', sa.Integer(), primary_key=True),\n"
        "    sa.Column('mood', sa.Enum('happy', 'sad', name='mood')))",
        "op.drop_table('reaction')",  # the type mood stays
        message="create reaction table",
    )

    result = blog.migdoctor("roundtrip", "--scratch-url", server_database.url)

    assert result.exit_code == 1, result
    assert "✗ 4e5f60718293 (create reaction table): downgrade does not restore the schema" in (
        result.stdout
    )
    assert "left behind: enum type mood ('happy', 'sad') is still there" in result.stdout


# mealie (github.com/mealie-recipes/mealie): its first revision builds an engine of its own from
# alembic's configuration to ask whether its tables exist (to ease a move from before alembic).
# The round trip handed env.py the scratch database, but the configuration still named the
# configured one: the revision asked that one, found its tables, created nothing in the scratch
# database, and every revision after it "failed".
ASKS_ITS_OWN_ENGINE = """
config = op.get_context().config
engine = sa.engine_from_config(config.get_section(config.config_ini_section), prefix="sqlalchemy.")
with engine.connect() as connection:
    there = sa.inspect(connection).has_table("legacy_marker")
engine.dispose()
if not there:
    op.create_table("marker", sa.Column("id", sa.Integer(), primary_key=True))
"""


@pytest.mark.databases
def test_a_revision_that_builds_its_own_engine_reaches_the_scratch_database(
    blog: Project, database: Database
) -> None:
    add_revision(blog, "d4e5f6a7b8c9", COMMENT, ASKS_ITS_OWN_ENGINE, 'op.drop_table("marker")')
    # as mealie's env.py does: the URL from the application's settings, whatever alembic's is
    edit(
        blog,
        "alembic/env.py",
        "config = context.config\n",
        "config = context.config\n"
        f"config.set_main_option('sqlalchemy.url', {database.url.replace('%', '%%')!r})\n",
    )
    database.execute("CREATE TABLE legacy_marker (id INTEGER PRIMARY KEY)")

    document = roundtrip_json(blog, database, 1)  # the models do not have the marker table

    entry = by_revision(document)["d4e5f6a7b8c9"]
    assert (entry["upgrade"], entry["downgrade"]) == ("passed", "passed"), entry
    assert document["models"]["differences"] == [
        "table marker is in the database but not in the models"
    ]
    assert database.table_names() == {"legacy_marker"}


# ihatemoney (github.com/spiral-project/ihatemoney), revision c941aaca38c2: its downgrade turns
# the ENUM column logging_preference into a VARCHAR(9); the snapshots wrote both as VARCHAR(9)
# (an enumeration compiled without a dialect) and the round trip said the schema was restored
@pytest.mark.databases
def test_a_downgrade_that_turns_an_enum_into_a_varchar_is_named(
    blog: Project, database: Database
) -> None:
    add_revision(
        blog,
        "5f60718293a4",
        COMMENT,
        "op.create_table('reaction', sa.Column('id', sa.Integer(), primary_key=True),\n"
        "    sa.Column('mood', sa.Enum('happy', 'sad', name='mood')))",
        "op.drop_table('reaction')\nsa.Enum(name='mood').drop(op.get_bind(), checkfirst=True)",
        message="create reaction table",
    )
    add_revision(
        blog,
        "60718293a4b5",
        "5f60718293a4",
        "op.add_column('reaction', sa.Column('note', sa.String(20), nullable=True))",
        "with op.batch_alter_table('reaction') as batch_op:\n"
        "    batch_op.drop_column('note')\n"
        "    batch_op.alter_column('mood', existing_type=sa.Enum('happy', 'sad', name='mood'),\n"
        "                          type_=sa.String(5))",
        message="reaction note",
    )

    document = roundtrip_json(blog, database, 1)  # the models lack the reaction table anyway

    entry = by_revision(document)["60718293a4b5"]
    if database.backend == "sqlite":  # there the enumeration is a VARCHAR(5) all along
        assert entry["downgrade_differences"] == [], entry
    else:
        [changed] = entry["downgrade_differences"]
        assert (changed["change"], changed["table"], changed["name"]) == (
            "changed",
            "reaction",
            "mood",
        )
        assert "ENUM('happy', 'sad')" in str(changed), changed
