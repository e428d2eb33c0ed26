"""The stamp fix: records a revision in the version table without running it, refuses a revision the
schema disagrees with (unless --force) or no script defines, creates a missing version table, and is
undone; through the installed CLI on every backend, asserting on the database, the files and the
journal."""

from __future__ import annotations

from tests.conftest import Database
from tests.helpers import (
    ARTICLE,
    COMMENT,
    USER,
    Project,
    add_revision,
    article_by_hand,
    checks_found,
    journal,
)


def test_stamp_repairs_table_exists_and_undo_restores(blog: Project, database: Database) -> None:
    article_by_hand(blog, database)

    fixed = blog.migdoctor("fix", "stamp", "--revision", ARTICLE, "--yes")

    assert fixed.exit_code == 0, fixed
    assert "UPDATE alembic_version SET version_num='2b3c4d5e6f70'" in fixed.stdout
    assert "Applied stamp" in fixed.stdout
    assert database.version_rows() == [ARTICLE]
    started, applied = journal(blog)
    assert started["event"] == "started" and applied["event"] == "applied"
    assert started["plan"]["version_table"]["rows_before"] == [USER]
    assert applied["after"]["version_rows"] == [ARTICLE]
    _, document = blog.check_json()
    assert checks_found(document) == {"stale-current"}  # the upgrade can now go on

    undone = blog.migdoctor("undo", "--yes")

    assert undone.exit_code == 0, undone
    assert database.version_rows() == [USER]
    assert "article" in database.table_names()  # a stamp never touched the tables
    listing = blog.migdoctor("undo", "--list")
    assert "stamp" in listing.stdout and "undone" in listing.stdout
    again = blog.migdoctor("undo", "--yes")
    assert again.exit_code == 0  # nothing to do is not a failure
    assert "Nothing to undo" in again.stdout


def test_stamp_without_revision_takes_the_recommended_one(
    blog: Project, database: Database
) -> None:
    article_by_hand(blog, database)

    result = blog.migdoctor("fix", "stamp", "--yes")

    assert result.exit_code == 0, result
    assert database.version_rows() == [ARTICLE]


def test_stamp_that_disagrees_with_the_schema_needs_force(
    blog: Project, database: Database
) -> None:
    blog.upgrade(USER)  # article and comment do not exist

    refused = blog.migdoctor("fix", "stamp", "--revision", "head", "--yes")

    assert refused.exit_code == 1, refused
    assert "table article" in refused.stdout and "table comment" in refused.stdout
    assert "Refused" in refused.stdout
    assert database.version_rows() == [USER]
    forced = blog.migdoctor("fix", "stamp", "--revision", "head", "--yes", "--force")
    assert forced.exit_code == 0, forced
    assert database.version_rows() == [COMMENT]


def test_stamp_behind_tables_that_exist_needs_force(blog: Project, database: Database) -> None:
    blog.upgrade("head")
    database.execute("DELETE FROM alembic_version")

    refused = blog.migdoctor("fix", "stamp", "--revision", USER, "--yes")

    assert refused.exit_code == 1, refused
    assert (
        "Table article, which later revision 2b3c4d5e6f70 creates, already exists" in refused.stdout
    )
    assert database.version_rows() == []


def test_stamp_refuses_a_revision_no_script_defines(blog: Project, database: Database) -> None:
    blog.upgrade(USER)

    result = blog.migdoctor("fix", "stamp", "--revision", "ffffffffffff", "--yes", "--force")

    assert result.exit_code == 1, result
    assert "Can't locate revision identified by 'ffffffffffff'" in result.stdout
    assert database.version_rows() == [USER]


def test_unknown_revision_stamped_to_the_candidate_and_back(
    blog: Project, database: Database
) -> None:
    blog.upgrade(ARTICLE)
    database.execute("UPDATE alembic_version SET version_num = '77525ee61b5b'")

    fixed = blog.migdoctor("fix", "stamp", "--yes")

    assert fixed.exit_code == 0, fixed
    assert "Replaces 77525ee61b5b" in fixed.stdout
    assert database.version_rows() == [ARTICLE]
    assert blog.migdoctor("undo", "--yes").exit_code == 0
    assert database.version_rows() == ["77525ee61b5b"]


def test_stamp_creates_a_missing_version_table_and_undo_drops_it(
    blog: Project, database: Database
) -> None:
    blog.upgrade("head")
    database.execute("DROP TABLE alembic_version")

    fixed = blog.migdoctor("fix", "stamp", "--revision", COMMENT, "--yes")

    assert fixed.exit_code == 0, fixed
    assert "CREATE TABLE alembic_version" in fixed.stdout
    assert database.version_rows() == [COMMENT]
    assert blog.migdoctor("check").exit_code == 0
    assert blog.migdoctor("undo", "--yes").exit_code == 0
    assert "alembic_version" not in database.table_names()


# full-stack-fastapi-template (github.com/fastapi/full-stack-fastapi-template), revision
# 1a31ce608336 recreates item's foreign key with ON DELETE CASCADE: stamping it on a database
# whose key has none was refused with the same key named on both sides of the difference
def test_a_foreign_key_without_its_on_delete_is_named_so(blog: Project, database: Database) -> None:
    add_revision(
        blog,
        "5f607182a3b4",
        COMMENT,
        """
op.create_table(
    "tag",
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="CASCADE")),
)""",
        'op.drop_table("tag")',
        message="tags",
    )
    blog.upgrade(COMMENT)
    user = "`user`" if database.backend == "mysql" else '"user"'
    database.execute(
        "CREATE TABLE tag (id INTEGER NOT NULL, user_id INTEGER, PRIMARY KEY (id), "
        f"FOREIGN KEY (user_id) REFERENCES {user} (id))"
    )

    refused = blog.migdoctor("fix", "stamp", "--revision", "5f607182a3b4", "--yes")

    assert refused.exit_code == 1, refused
    assert "tag(user_id) → user ON DELETE CASCADE is in the history at revision" in (refused.stdout)
    assert database.version_rows() == [COMMENT]
