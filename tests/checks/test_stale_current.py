"""stale-current: the database behind the head, put into a real database on every backend and
diagnosed through the installed CLI."""

from __future__ import annotations

from tests.conftest import Database
from tests.helpers import (
    APP_TABLES_AT_HEAD,
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
    # no stamp is recommended; the one offered as the next step comes with what the schema
    # does not show there (a3summary's column), to make match first
    stamps = [fix for fix in stale["fixes"] if fix["id"] == "stamp"]
    assert [fix["recommended"] for fix in stamps] == [False], stamps
    assert "differ: column article.summary. Make those match first" in stale["message"], stale
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


# JupyterHub (jupyterhub/jupyterhub): its tables made by the application (create_all(), then a
# stamp), its version table emptied, and `alembic upgrade head` re-running every revision until
# one failed on a column already there. The finding said the upgrade would fail, and offered
# nothing: no revision to record, no difference left to resolve, no step at all
def test_a_failed_rerun_over_tables_the_application_made_still_gives_a_next_step(
    blog: Project, database: Database
) -> None:
    app_created_tables_history(blog)
    # one more change after a5nonick drops a2nick's column: what the re-run leaves then matches
    # no revision (a2nick's column is there, and so is a6email's), as JupyterHub's did
    add_revision(
        blog, "a6email", "a5nonick", "op.add_column('member', sa.Column('email', sa.String(120)))"
    )
    database.execute(
        APP_TABLES_AT_HEAD[0].replace("bio VARCHAR(200)", "bio VARCHAR(200), email VARCHAR(120)"),
        *APP_TABLES_AT_HEAD[1:],
    )
    assert blog.alembic("stamp", "head").exit_code == 0
    database.execute("DELETE FROM alembic_version")
    failed = blog.alembic("upgrade", "head")
    assert failed.exit_code != 0, failed  # a3summary adds article.summary, already there

    _, document = blog.check_json()

    stale = finding(document, "stale-current")
    assert "The upgrade would fail" in stale["message"], stale
    stamps = [fix for fix in stale["fixes"] if fix["id"] == "stamp"]
    assert [fix["command"] for fix in stamps] == ["migdoctor fix stamp --revision a6email"]
    if "nickname" in database.column_names("member"):
        # the re-run added a2nick's column before it failed (no transactional DDL there)
        assert "column member.nickname (expected gone)" in stale["message"], stale
        assert "Make those match first" in stale["message"], stale
        assert not stamps[0]["recommended"]
    else:  # PostgreSQL rolled the whole upgrade back: the schema is the head's, verifiably
        assert stamps[0]["recommended"], stale


def test_a_failing_upgrade_over_a_schema_no_revision_matches_names_the_closest(
    blog: Project, database: Database
) -> None:
    # the same failure where the history knows every table: the column the next revision adds
    # is there, and so is one no revision knows; no revision's schema is the live one
    add_revision(
        blog, "7c8d9e0f1a2b", COMMENT, "op.add_column('user', sa.Column('bio', sa.String(200)))"
    )
    blog.upgrade(COMMENT)
    quoted = '"user"' if database.backend != "mysql" else "`user`"
    database.execute(
        f"ALTER TABLE {quoted} ADD COLUMN bio VARCHAR(200)",
        f"ALTER TABLE {quoted} ADD COLUMN nickname VARCHAR(40)",
    )

    _, document = blog.check_json()

    stale = finding(document, "stale-current")
    assert "The upgrade would fail" in stale["message"], stale
    assert (
        "closest to revision 7c8d9e0f1a2b's (1 difference: column user.nickname"
        in (stale["message"])
    ), stale
    assert [(fix["command"], fix["recommended"]) for fix in stale["fixes"]] == [
        ("migdoctor fix stamp --revision 7c8d9e0f1a2b", False)
    ]
