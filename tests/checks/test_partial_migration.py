"""partial-migration: a revision applied half way (by a failed MySQL upgrade, or by hand), put into
a real database on every backend and diagnosed through the installed CLI. Repaired with
complete-revision and undone; and how the operations of a revision that cannot be seen in the schema
are placed (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from migdoctor.facts.model import DatabaseFacts, IndexFact, TableFact
from migdoctor.facts.operations import RECORDED, Operation, RevisionOperations
from migdoctor.facts.server_version import ServerVersion
from migdoctor.operations.effects import Visibility
from migdoctor.operations.partial_application import PartialApplication, partial_application
from tests.conftest import Database
from tests.helpers import (
    COMMENT,
    TAG,
    Project,
    add_revision,
    app_created_tables_history,
    checks_found,
    copy_project,
    finding,
    overlay,
)

TAG_REVISION = "alembic/versions/4d5e6f708192_create_tag_table.py"


def index_names(database: Database, table: str) -> set[str]:
    from sqlalchemy import inspect

    engine = database.engine()
    with engine.connect() as connection:
        names = {index["name"] for index in inspect(connection).get_indexes(table)}
    engine.dispose()
    return {name for name in names if name}


def blog_with_tags(tmp_path: Path, database: Database) -> Project:
    """The blog at its head, with the revision that creates the tag table (and its index) added."""
    project = copy_project("blog", tmp_path / "project", database)
    project.upgrade("head")
    overlay(project, "blog_tags")
    return project


@pytest.mark.parametrize("server_database", ["mysql"], indirect=True)
def test_partial_migration_left_by_a_failed_mysql_upgrade(
    tmp_path: Path, server_database: Database
) -> None:
    database = server_database
    project = blog_with_tags(tmp_path, database)
    revision = project.root / TAG_REVISION
    correct = revision.read_text()
    # the index names a column the table does not have: MySQL fails after creating the table
    revision.write_text(correct.replace("['name']", "['label']"))
    failed = project.migdoctor("upgrade")
    assert failed.exit_code == 1, failed
    assert "Key column 'label' doesn't exist" in failed.output
    assert "half applied" in failed.output
    assert "tag" in database.table_names()
    assert database.version_rows() == [COMMENT]
    retry = project.alembic("upgrade", "head")
    assert "already exists" in retry.output

    revision.write_text(correct)  # the cause of the failure is fixed; the state stays
    code, document = project.check_json()

    assert code == 1
    # table-exists leaves the revision applied half way to partial-migration
    assert checks_found(document) == {"partial-migration", "stale-current"}
    partial = finding(document, "partial-migration")
    assert (partial["code"], partial["severity"]) == ("MD107", "error")
    assert partial["evidence"]["revision"] == TAG
    assert partial["evidence"]["operations"] == [
        {"operation": "create table tag (id, name)", "state": "applied"},
        {"operation": "create index ix_tag_name on tag (name)", "state": "not applied"},
    ]
    assert "table already exists" in partial["message"]
    assert [fix["id"] for fix in partial["fixes"]] == [
        "complete-revision",
        "stamp",
        "neuter-upgrade",
    ]
    assert partial["fixes"][0]["command"] == f"migdoctor fix complete-revision --revision {TAG}"
    assert "see partial-migration" in finding(document, "stale-current")["message"]

    fixed = project.migdoctor("fix", "complete-revision", "--revision", TAG, "--yes")

    assert fixed.exit_code == 0, fixed
    assert "run:  create index ix_tag_name on tag (name)" in fixed.stdout
    assert "skip: create table tag (id, name) (already applied)" in fixed.stdout
    assert "migdoctor undo would drop index" in fixed.stdout  # said before consent
    assert "Checked again: no problems found." in fixed.stdout
    assert database.version_rows() == [TAG]
    assert "ix_tag_name" in index_names(database, "tag")

    undone = project.migdoctor("undo", "--yes")

    assert undone.exit_code == 0, undone
    assert database.version_rows() == [COMMENT]
    assert "ix_tag_name" not in index_names(database, "tag")
    assert "tag" in database.table_names()  # what the failed upgrade left stays
    assert "partial-migration" in undone.stdout


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_partial_migration_made_by_hand(tmp_path: Path, database: Database) -> None:
    project = blog_with_tags(tmp_path, database)
    database.execute(
        "CREATE TABLE tag (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50) NOT NULL)"
    )

    code, document = project.check_json()

    assert code == 1
    # PostgreSQL rolls a failed revision back whole: half a revision there was made outside
    # the migrations, which table-exists tells, with the same evidence and repairs
    check = "table-exists" if database.backend == "postgresql" else "partial-migration"
    assert checks_found(document) == {check, "stale-current"}
    reported = finding(document, check)
    states = [op["state"] for op in reported["evidence"]["operations"]]
    assert states == ["applied", "not applied"]
    assert reported["fixes"][0]["id"] == "complete-revision"
    if database.backend == "postgresql":
        assert "created outside the migrations" in reported["message"]
    else:
        assert "created outside the migrations" in reported["message"]  # the other reading
        assert "applied half way" in reported["message"]
    refused = project.migdoctor("fix", "upgrade", "--yes")
    assert refused.exit_code == 1
    assert ("already exists" if database.backend == "postgresql" else "applied half way") in (
        refused.stdout
    )

    fixed = project.migdoctor("fix", "complete-revision", "--yes")

    assert fixed.exit_code == 0, fixed
    assert "Checked again: no problems found." in fixed.stdout
    assert database.version_rows() == [TAG]
    assert "ix_tag_name" in index_names(database, "tag")
    assert project.migdoctor("undo", "--yes").exit_code == 0
    assert database.version_rows() == [COMMENT]
    assert "ix_tag_name" not in index_names(database, "tag")


def _partial(*operations: tuple[str, Visibility]) -> PartialApplication:
    """A revision whose operations show (or not) as given, over a schema with table t only."""
    database = DatabaseFacts(
        url="sqlite://",
        dialect="sqlite",
        driver="pysqlite",
        server_version=ServerVersion("sqlite"),
        default_schema="main",
        version_table="alembic_version",
        version_table_schema=None,
        version_table_exists=True,
        version_rows=(),
        tables=(TableFact("t", None, (), index_facts=(IndexFact("ix_present"),)),),
    )
    by_visibility = {
        Visibility.VISIBLE: lambda kind: Operation("create_index", "t", name="ix_present"),
        Visibility.MISSING: lambda kind: Operation("create_index", "t", name="ix_absent"),
        Visibility.UNVERIFIABLE: lambda kind: Operation(kind, detail=kind),
    }
    recorded = RevisionOperations(
        "r", tuple(by_visibility[v](kind) for kind, v in operations), RECORDED
    )
    partial = partial_application(recorded, database)
    assert partial is not None
    return partial


def test_unverifiable_operations_are_placed_by_their_order() -> None:
    partial = _partial(
        ("execute", Visibility.UNVERIFIABLE),
        ("index", Visibility.VISIBLE),
        ("execute", Visibility.UNVERIFIABLE),
        ("index", Visibility.MISSING),
        ("execute", Visibility.UNVERIFIABLE),
    )

    assert [s.index for s in partial.applied] == [0, 1]
    assert [s.index for s in partial.ambiguous] == [2]
    assert [s.index for s in partial.missing] == [3, 4]


# microblog (github.com/miguelgrinberg/microblog), revision 834b1a697901 on MariaDB: an index of
# the name it creates, made by hand on another column, failed its upgrade after both columns were
# added. The index read as made by its name alone, the revision as whole, and nothing was offered.
def test_an_index_of_the_name_on_other_columns_is_not_the_revisions(
    blog: Project, database: Database
) -> None:
    add_revision(
        blog,
        "5f607182a3b4",
        COMMENT,
        'op.add_column("user", sa.Column("token", sa.String(32), nullable=True))\n'
        'op.create_index("ix_user_token", "user", ["token"], unique=True)',
        'op.drop_index("ix_user_token", table_name="user")\nop.drop_column("user", "token")',
        message="user tokens",
    )
    blog.upgrade(COMMENT)
    user = "`user`" if database.backend == "mysql" else '"user"'
    database.execute(
        f"ALTER TABLE {user} ADD COLUMN token VARCHAR(32)",
        f"CREATE INDEX ix_user_token ON {user} (username)",
    )

    _, document = blog.check_json()

    # PostgreSQL rolls a failed revision back whole: there it was made outside the migrations
    slug = "table-exists" if database.backend == "postgresql" else "partial-migration"
    assert slug in checks_found(document)
    states = {o["operation"]: o["state"] for o in finding(document, slug)["evidence"]["operations"]}
    assert states == {
        "add column user.token": "applied",
        "create index ix_user_token on user (token)": "not applied",
    }
    if database.backend == "mysql":  # the server by its name, not the dialect's "mysql"
        message = finding(document, slug)["message"]
        assert "(MySQL here)" in message or "(MariaDB here)" in message
    complete = finding(document, slug)["fixes"][0]
    assert complete["id"] == "complete-revision" and not complete["recommended"]
    assert "first drop or rename the index of the same name on other columns: ix_user_token" in (
        blog.migdoctor("check").stdout
    )

    refused = blog.migdoctor("fix", "complete-revision", "--yes")
    assert refused.exit_code != 0, refused
    assert "An index of the name already exists on other columns" in refused.output
    assert database.version_rows() == [COMMENT]

    on = f" ON {user}" if database.backend == "mysql" else ""
    database.execute(f"DROP INDEX ix_user_token{on}")
    completed = blog.migdoctor("fix", "complete-revision", "--yes")
    assert completed.exit_code == 0, completed
    assert database.version_rows() == ["5f607182a3b4"]
    if database.backend == "postgresql":  # no failed run: no failure to fix
        assert "fix the cause of the failure" not in completed.stdout
        assert "made outside the migrations" in completed.stdout


def test_a_revision_asking_its_engine_which_tables_exist_half_applied(
    blog: Project, database: Database
) -> None:
    # JupyterHub (jupyterhub/jupyterhub, revision 3c2384c5aae1): upgrade() asks
    # sa.inspect(op.get_bind().engine) which tables exist (a connection of its own) and adds
    # its columns only to a table the application made. That question was refused, the
    # revision read from its source, and the half applied revision went unseen: "upgrade, safe"
    # was recommended, and complete-revision could not record it.
    app_created_tables_history(blog)
    add_revision(
        blog,
        "a6member_info",
        "a5nonick",
        "logging.getLogger('alembic').warning('Skipping upgrade of absent table: x')\n"
        "tables = sa.inspect(op.get_bind().engine).get_table_names()\n"
        "if 'member' in tables:\n"
        "    for name in ('url', 'info', 'display'):\n"
        "        op.add_column('member', sa.Column(name, sa.String(100), nullable=True))",
        imports="import logging",
    )
    database.execute(
        "CREATE TABLE member (id INTEGER PRIMARY KEY, name VARCHAR(40), bio VARCHAR(200),"
        " url VARCHAR(100))",
        "CREATE TABLE article (id INTEGER PRIMARY KEY, title VARCHAR(100), summary VARCHAR(200))",
    )
    assert blog.alembic("stamp", "a5nonick").exit_code == 0

    _, document = blog.check_json()
    checked = blog.migdoctor("check")

    # what a revision logs while it is recorded (not run) is not the check's to say
    assert "Skipping upgrade" not in checked.output, checked
    check = "table-exists" if database.backend == "postgresql" else "partial-migration"
    reported = finding(document, check)
    assert [(op["operation"], op["state"]) for op in reported["evidence"]["operations"]] == [
        ("add column member.url", "applied"),
        ("add column member.info", "not applied"),
        ("add column member.display", "not applied"),
    ], reported["evidence"]
    assert all(fix["id"] != "upgrade" for fix in finding(document, "stale-current")["fixes"])

    fixed = blog.migdoctor("fix", "complete-revision", "--yes")

    assert fixed.exit_code == 0, fixed
    assert database.version_rows() == ["a6member_info"]
    assert {"url", "info", "display"} <= set(database.column_names("member"))
