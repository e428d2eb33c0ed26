"""stale-current: the database behind the head, put into a real database on every backend and
diagnosed through the installed CLI."""

from __future__ import annotations

from tests.conftest import Database
from tests.helpers import (
    ARTICLE,
    COMMENT,
    USER,
    Project,
    add_revision,
    app_created_tables_history,
    checks_found,
    finding,
)


def test_database_behind_head_is_stale_current(blog: Project) -> None:
    blog.upgrade(USER)

    code, document = blog.check_json()

    assert code == 1
    assert checks_found(document) == {"stale-current"}
    stale = finding(document, "stale-current")
    assert stale["code"] == "MD101"
    assert stale["severity"] == "error"
    assert stale["evidence"]["current"] == [USER]
    assert stale["evidence"]["heads"] == [COMMENT]
    assert [(p["revision"], p["message"]) for p in stale["evidence"]["pending"]] == [
        (ARTICLE, "create article table"),
        (COMMENT, "add comment table"),
    ]
    assert [fix["id"] for fix in stale["fixes"]] == ["upgrade"]
    assert stale["fixes"][0]["command"] == "migdoctor fix upgrade"


def test_fresh_empty_database_is_only_behind(blog: Project, database: Database) -> None:
    if database.backend == "sqlite":
        database.execute("CREATE TABLE placeholder (id INTEGER)")
        database.execute("DROP TABLE placeholder")

    code, document = blog.check_json()

    assert code == 1
    assert checks_found(document) == {"stale-current"}
    stale = finding(document, "stale-current")
    assert [p["revision"] for p in stale["evidence"]["pending"]] == [USER, ARTICLE, COMMENT]


# ihatemoney (github.com/spiral-project/ihatemoney) on PostgreSQL: a downgrade left a column
# VARCHAR that its history has as an ENUM, the upgrade was offered as safe and recommended, and
# failed on the pending alter_column of that very column. Here the column was changed by hand.
def test_a_column_a_pending_revision_alters_that_differs_is_said(
    blog: Project, database: Database
) -> None:
    add_revision(
        blog,
        "7b8c9d0e1f2a",
        COMMENT,
        """
with op.batch_alter_table("comment") as batch_op:
    batch_op.alter_column(
        "content", existing_type=sa.String(500), type_=sa.String(1000), existing_nullable=False
    )
""",
        'with op.batch_alter_table("comment") as batch_op:\n'
        '    batch_op.alter_column("content", type_=sa.String(500))',
        message="longer comments",
    )
    blog.upgrade(COMMENT)
    database.execute("ALTER TABLE comment DROP COLUMN content")

    _, document = blog.check_json()

    stale = finding(document, "stale-current")
    differs = (
        "column comment.content (VARCHAR(500)) is in the history at revision 3c4d5e6f7081 but "
        "not in the database"
    )
    assert stale["evidence"]["schema_differs"] == [
        {"difference": differs, "altered_by": "7b8c9d0e1f2a"}
    ]
    assert f"{differs} (7b8c9d0e1f2a alters it)" in stale["message"]
    assert [(fix["id"], fix["recommended"]) for fix in stale["fixes"]] == [("upgrade", False)]


def nickname_added_by_hand(blog: Project, database: Database) -> None:
    """The application's tables over a history that never creates them; the version table says
    no revision ran, yet member already has a2nick's column: the upgrade would fail on it."""
    app_created_tables_history(blog)
    database.execute(
        "CREATE TABLE member (id INTEGER PRIMARY KEY, name VARCHAR(40), nickname VARCHAR(40))",
        "CREATE TABLE article (id INTEGER PRIMARY KEY, title VARCHAR(100))",
    )
    assert blog.alembic("stamp", "a1base").exit_code == 0


def test_no_stamp_over_pending_changes_to_tables_the_history_never_creates(
    blog: Project, database: Database
) -> None:
    nickname_added_by_hand(blog, database)

    _, document = blog.check_json()

    stale = finding(document, "stale-current")
    assert "exactly the schema" not in stale["message"], stale
    assert all(fix["id"] != "stamp" for fix in stale["fixes"]), stale["fixes"]
    schema = document["database"]["schema"]
    assert schema["matches"] == [], schema
    assert "a3summary" in schema["unverified_matches"], schema


def test_a_stamp_over_pending_changes_the_schema_shows_is_still_offered(
    blog: Project, database: Database
) -> None:
    nickname_added_by_hand(blog, database)
    database.execute("ALTER TABLE article ADD COLUMN summary VARCHAR(200)")

    _, document = blog.check_json()

    stale = finding(document, "stale-current")
    stamps = [fix for fix in stale["fixes"] if fix["id"] == "stamp"]
    assert [fix["command"] for fix in stamps] == ["migdoctor fix stamp --revision a3summary"]
