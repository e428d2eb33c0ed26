"""table-exists: tables a pending revision creates made outside the migrations (by hand, by
create_all(), or left behind an emptied version table), put into a real database on every backend
and diagnosed through the installed CLI."""

from __future__ import annotations

import re

from tests.conftest import Database
from tests.helpers import (
    ARTICLE,
    COMMENT,
    USER,
    Project,
    add_revision,
    checks_found,
    create_article_outside_migrations,
    finding,
    load_module_from,
)


def test_table_created_by_hand_is_table_exists(blog: Project, database: Database) -> None:
    blog.upgrade(USER)
    create_article_outside_migrations(database)

    result = blog.migdoctor("check")
    _, document = blog.check_json()

    assert result.exit_code == 1
    assert "A pending revision creates a table that already exists" in result.stdout
    assert checks_found(document) == {"table-exists", "stale-current"}
    exists = finding(document, "table-exists")
    assert exists["code"] == "MD103"
    assert exists["evidence"]["revision"] == ARTICLE
    assert exists["evidence"]["tables"] == ["article"]
    assert exists["evidence"]["situation"] == "behind"
    assert exists["evidence"]["conflicts"][0]["operations_read"] == "recorded"
    assert exists["evidence"]["verified_applied"] == ARTICLE
    assert [fix["id"] for fix in exists["fixes"]] == ["stamp", "neuter-upgrade"]
    assert exists["fixes"][0]["command"] == f"migdoctor fix stamp --revision {ARTICLE}"
    # the upgrade would fail, so stale-current does not offer it
    assert finding(document, "stale-current")["fixes"] == []


def test_table_without_the_foreign_key_is_not_stamped(blog: Project, database: Database) -> None:
    """Names alone would say the table is the revision's; alembic's comparison sees the
    foreign key the revision creates and the hand-made table lacks."""
    blog.upgrade(USER)
    create_article_outside_migrations(database, foreign_key=False)

    _, document = blog.check_json()

    exists = finding(document, "table-exists")
    assert exists["evidence"]["verified_applied"] is None
    assert [fix["id"] for fix in exists["fixes"]] == ["neuter-upgrade"]
    closest = exists["evidence"]["schema_closest"][0]
    assert closest["revision"] == ARTICLE
    assert any("foreign key" in words for words in closest["differences"])
    assert "no stamp is offered" in exists["message"]
    refused = blog.migdoctor("fix", "stamp", "--revision", ARTICLE, "--yes")
    assert refused.exit_code == 1, refused
    assert "foreign key" in refused.output
    assert database.version_rows() == [USER]


def test_table_with_other_columns_is_not_stamped_blindly(blog: Project, database: Database) -> None:
    blog.upgrade(USER)
    database.execute("CREATE TABLE article (id INTEGER PRIMARY KEY, headline VARCHAR(10))")

    _, document = blog.check_json()

    exists = finding(document, "table-exists")
    conflict = exists["evidence"]["conflicts"][0]["tables"][0]
    assert set(conflict["missing_columns"]) == {"title", "body", "user_id", "created_at"}
    assert conflict["extra_columns"] == ["headline"]
    assert exists["evidence"]["verified_applied"] is None
    assert [fix["id"] for fix in exists["fixes"]] == ["neuter-upgrade"]
    # full-stack-fastapi-template (github.com/fastapi/full-stack-fastapi-template): a sentence
    # of its own, capitalized
    assert '"table already exists". The live article lacks column(s)' in exists["message"]


def test_emptied_version_table_with_tables_left(blog: Project, database: Database) -> None:
    blog.upgrade("head")
    database.execute("DELETE FROM alembic_version")

    code, document = blog.check_json()

    assert code == 1
    exists = finding(document, "table-exists")
    assert exists["evidence"]["situation"] == "empty-version-table"
    assert exists["evidence"]["revision"] == USER
    assert exists["evidence"]["tables"] == ["user"]
    assert [c["revision"] for c in exists["evidence"]["conflicts"]] == [USER, ARTICLE, COMMENT]
    assert exists["evidence"]["verified_applied"] == COMMENT
    assert exists["fixes"][0]["command"] == f"migdoctor fix stamp --revision {COMMENT}"
    assert "empty" in exists["message"]


def test_tables_from_create_all_without_version_table(blog: Project, database: Database) -> None:
    # the application created its tables itself (Base.metadata.create_all), alembic never ran
    models = load_module_from(blog.root / "models.py")
    engine = database.engine()
    models.Base.metadata.create_all(engine)
    engine.dispose()

    code, document = blog.check_json()

    assert code == 1
    exists = finding(document, "table-exists")
    assert exists["evidence"]["situation"] == "no-version-table"
    assert "no alembic_version table" in exists["message"]
    assert exists["evidence"]["verified_applied"] == COMMENT
    assert document["database"]["current"] == []


def test_a_table_two_pending_branches_create_is_the_historys_conflict_not_the_databases(
    blog: Project, database: Database
) -> None:
    """Two root revisions that both create a table (the pattern of
    testdrivenio/fastapi-sqlmodel-alembic: two ``init`` revisions, each with its own head) over
    an empty database: no table exists, so table-exists must not say one does; the upgrade
    still fails at the second creation, which stale-current says, and the preflight refuses."""
    add_revision(
        blog,
        "9f0e1d2c3b4a",
        None,
        "op.create_table('user', sa.Column('id', sa.Integer, primary_key=True))",
        "op.drop_table('user')",
        message="init",
    )
    database.scalars("SELECT 1")  # the database exists, and holds no table

    code, document = blog.check_json()

    assert code == 1
    found = checks_found(document)
    assert "table-exists" not in found, finding(document, "table-exists")["message"]
    assert {"stale-current", "multiple-heads"} <= found
    said = " ".join(finding(document, "stale-current")["message"].split())
    assert re.search(
        r"revision \w+ creates table user, which revision \w+, also pending, creates before "
        r"it in the same upgrade: the two are on separate branches",
        said,
    ), said

    refused = blog.migdoctor("upgrade", "heads")
    assert refused.exit_code == 1, refused
    assert "The upgrade would fail: nothing was changed." in refused.output
    assert database.table_names() == set()

    # one branch applied: now the table is there, made by the revisions applied
    upgraded = blog.migdoctor("upgrade", "3c4d5e6f7081")
    assert upgraded.exit_code == 0, upgraded
    _, document = blog.check_json()
    exists = finding(document, "table-exists")
    said = " ".join(exists["message"].split())
    assert "Pending revision 9f0e1d2c3b4a (init) creates table user, which already exists" in said
    assert (
        "The live schema is exactly the schema at 3c4d5e6f7081 (the version table's): the "
        "revisions applied made it, and revision 9f0e1d2c3b4a is on a branch of its own and "
        "creates it again: the branches conflict (see multiple-heads)" in said
    ), said
    assert not [f for f in exists["fixes"] if f["id"] == "stamp"]


# ihatemoney (github.com/spiral-project/ihatemoney), revision 2dcb0c0048dc "autologger": it
# creates four *_version tables, then table transaction. With transaction made by hand before
# the upgrade, SQLite and MariaDB read it as a run that failed half way, yet a failed run stops
# at one operation and leaves only what came before it: this was made outside the migrations.
def test_a_table_a_revision_creates_last_made_by_hand_is_not_a_failed_run(
    blog: Project, database: Database
) -> None:
    add_revision(
        blog,
        "5f607182a3b4",
        COMMENT,
        """
op.create_table("tag", sa.Column("id", sa.Integer(), primary_key=True))
op.create_index("ix_tag_id", "tag", ["id"])
op.create_table("badge", sa.Column("id", sa.Integer(), primary_key=True))
""",
        'op.drop_table("badge")\nop.drop_table("tag")',
        message="tags and badges",
    )
    blog.upgrade(COMMENT)
    database.execute("CREATE TABLE badge (id INTEGER NOT NULL, PRIMARY KEY (id))")

    _, document = blog.check_json()

    assert checks_found(document) == {"table-exists", "stale-current"}
    exists = finding(document, "table-exists")
    assert exists["title"] == "Part of a pending revision already exists"
    assert exists["evidence"]["revision"] == "5f607182a3b4"
    assert "were created outside the migrations" in exists["message"]
    states = {o["operation"].split(" (")[0]: o["state"] for o in exists["evidence"]["operations"]}
    assert states == {
        "create table tag": "not applied",
        "create index ix_tag_id on tag": "not applied",
        "create table badge": "applied",
    }
    if database.backend != "postgresql":  # there a failed run is rolled back whole anyway
        assert "A failed run stops at one operation, yet create table badge" in exists["message"]
    else:
        # full-stack-fastapi-template (github.com/fastapi/full-stack-fastapi-template): the
        # server by its name, not "Postgresql"
        assert "PostgreSQL rolls back a failed revision whole" in exists["message"]
    stale = finding(document, "stale-current")
    assert "part of revision 5f607182a3b4 already exists (see table-exists)" in stale["message"]


# full-stack-fastapi-template (github.com/fastapi/full-stack-fastapi-template), revision
# d98dd8ec85a3: it adds item.new_owner_id, drops item.owner_id, then renames new_owner_id to
# owner_id. Downgraded to the revision before it by its own downgrade() (which leaves owner_id
# nullable, so the schema differs from the history's there), the rename read as applied: owner_id
# was there, as it was before the revision ran. A name the revision drops and then makes again
# tells nothing of whether it ran.
def test_a_column_the_pending_revision_drops_and_renames_back_is_not_a_partial_application(
    blog: Project, database: Database
) -> None:
    add_revision(
        blog,
        "5f607182a3b4",
        COMMENT,
        """
op.add_column("user", sa.Column("new_email", sa.String(length=200), nullable=True))
op.drop_column("user", "email")
op.alter_column("user", "new_email", new_column_name="email", existing_type=sa.String(200))
""",
        """
op.add_column("user", sa.Column("old_email", sa.String(length=120), nullable=True))
op.drop_column("user", "email")
op.alter_column("user", "old_email", new_column_name="email", existing_type=sa.String(120))
""",
        message="widen email",
    )
    blog.upgrade(COMMENT)
    # what the revision's imperfect downgrade leaves: the table the revision touches differs
    user = "`user`" if database.backend == "mysql" else '"user"'
    database.execute(f"ALTER TABLE {user} ADD COLUMN note VARCHAR(10)")

    _, document = blog.check_json()

    assert checks_found(document) == {"stale-current"}
    stale = finding(document, "stale-current")
    assert "already exists" not in stale["message"]


def test_a_foreign_key_to_a_table_no_revision_names_does_not_block_the_stamp(
    blog: Project, database: Database
) -> None:
    # Netflix/dispatch: create_all() makes dispatch_core.plugin (no revision creates it) and a
    # revision creates plugin_event with a foreign key to it. The replay cannot keep a foreign
    # key to a table it lacks, so the live one was "in the database but not in the history":
    # with the version table emptied, the stamp to the head was refused over it.
    database.execute("CREATE TABLE plugin (id INTEGER NOT NULL PRIMARY KEY)")
    add_revision(
        blog,
        "4e5f60718293",
        COMMENT,
        "op.create_table('plugin_event', sa.Column('id', sa.Integer(), primary_key=True),\n"
        "    sa.Column('plugin_id', sa.Integer(), sa.ForeignKey('plugin.id')))",
        "op.drop_table('plugin_event')",
        message="create plugin_event table",
    )
    blog.upgrade()
    database.execute("DELETE FROM alembic_version")

    _, document = blog.check_json()

    table_exists = finding(document, "table-exists")
    assert document["database"]["schema"]["matches"] == ["4e5f60718293"], document["database"]
    stamp = table_exists["fixes"][0]
    assert (stamp["id"], stamp.get("recommended")) == ("stamp", True), table_exists["fixes"]
    assert "--revision 4e5f60718293" in stamp["command"]
