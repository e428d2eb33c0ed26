"""Revisions that ask the database what to do, read from their source once they have run.

A revision that already ran is recorded without a live connection; one whose ``upgrade()`` asks
the database (reflects a table, selects rows) cannot run then and is read from its source. MLflow
(github.com/mlflow/mlflow, revision 75868b020152 of mlflow/store/db_migrations) has such an
``upgrade()`` that only calls the file's own helpers: read from ``upgrade()``'s body alone it did
nothing, and after ``alembic upgrade head`` on MariaDB the header showed ~35 false history
differences, and with the version table gone no stamp was offered. These fixtures recreate the
pattern on the blog project; every scenario runs on SQLite, MySQL/MariaDB and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Database
from tests.helpers import Project, checks_found, finding

COMMENT = "3c4d5e6f7081"
ANALYTICS, FLAG = "4e5f6a7b8c9d", "5f6a7b8c9d0e"

HEADER = '''"""{message}

Revision ID: {revision}
Revises: {down}
"""
from alembic import op
import sqlalchemy as sa

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None

'''

# upgrade() asks the database (as MLflow's validates the rows before changing them) and makes its
# changes through the file's own helpers, one of them given literal arguments
ANALYTICS_BY_HELPERS = """
def upgrade():
    _validate_comments()
    _add_analytics_columns()
    _add_column_to("comment", "score")
    _create_rollup_table()


def downgrade():
    op.drop_table("daily_views")
    op.drop_column("comment", "score")
    op.drop_column("article", "views")
    op.drop_column("user", "last_seen")


def _validate_comments():
    bind = op.get_bind()
    comment = sa.Table("comment", sa.MetaData(), autoload_with=bind)
    bind.execute(sa.select(comment.c.id).limit(1)).all()


def _add_analytics_columns():
    op.add_column("user", sa.Column("last_seen", sa.DateTime(), nullable=True))
    with op.batch_alter_table("article") as batch_op:
        batch_op.add_column(sa.Column("views", sa.Integer(), nullable=True))


def _add_column_to(table_name, column_name):
    op.add_column(table_name, sa.Column(column_name, sa.Integer(), nullable=True))


def _create_rollup_table():
    op.create_table(
        "daily_views",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("views", sa.Integer(), nullable=False),
    )
    op.create_index("ix_daily_views_views", "daily_views", ["views"])
"""

# as MLflow's _add_analytics_columns: the tables come from a function, so no reading of the
# source can tell which tables it changes
ANALYTICS_ON_COMPUTED_TABLES = """
def upgrade():
    _add_analytics_columns()
    _create_rollup_table()


def downgrade():
    op.drop_table("daily_views")
    op.drop_column("article", "views")
    op.drop_column("user", "views")


def _analytics_tables():
    return ["user", "article"]


def _add_analytics_columns():
    bind = op.get_bind()
    for table_name in _analytics_tables():
        existing = {c["name"] for c in sa.inspect(bind).get_columns(table_name)}
        if "views" not in existing:
            op.add_column(table_name, sa.Column("views", sa.Integer(), nullable=True))


def _create_rollup_table():
    op.create_table(
        "daily_views",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("views", sa.Integer(), nullable=False),
    )
"""

# an ordinary revision after it
FLAG_COLUMN = """
def upgrade():
    op.add_column("comment", sa.Column("flagged", sa.Boolean(), nullable=True))


def downgrade():
    op.drop_column("comment", "flagged")
"""


def _write(project: Project, revision: str, down: str, message: str, body: str) -> Path:
    path = project.versions / f"{revision}_{message.replace(' ', '_')}.py"
    path.write_text(HEADER.format(message=message, revision=revision, down=down) + body)
    return path


def _history(project: Project, analytics: str) -> None:
    _write(project, ANALYTICS, COMMENT, "trace analytics", analytics)
    _write(project, FLAG, ANALYTICS, "flag comments", FLAG_COLUMN)


def _schema(document: dict[str, object]) -> dict[str, object]:
    database = document["database"]
    assert isinstance(database, dict)
    schema = database["schema"]
    assert isinstance(schema, dict)
    return schema


def test_a_revision_read_from_its_source_follows_its_helpers(
    blog: Project, database: Database
) -> None:
    _history(blog, ANALYTICS_BY_HELPERS)
    blog.upgrade("head")

    _, document = blog.check_json()

    schema = _schema(document)
    assert schema["matches"] == [FLAG], schema
    assert schema["current_matches"] is True
    assert schema["closest_differences"] == []
    # (the blog's models know nothing of the new columns: schema-drift says so, rightly)
    assert checks_found(document) <= {"schema-drift"}, document["findings"]

    # the version table gone: the stamp is the head's, and it takes
    database.execute("DROP TABLE alembic_version")
    _, document = blog.check_json()
    schema = _schema(document)
    assert schema["matches"] == [FLAG], schema
    exists = finding(document, "table-exists")
    assert exists["evidence"]["verified_applied"] == FLAG
    assert exists["fixes"][0]["command"] == f"migdoctor fix stamp --revision {FLAG}"
    stamped = blog.migdoctor("fix", "stamp", "--yes")
    assert stamped.exit_code == 0, stamped
    assert database.version_rows() == [FLAG]
    healthy = blog.migdoctor("check")
    assert healthy.exit_code == 0, healthy


def test_a_revision_whose_tables_are_computed_makes_no_false_difference(
    blog: Project, database: Database
) -> None:
    _history(blog, ANALYTICS_ON_COMPUTED_TABLES)
    blog.upgrade("head")

    _, document = blog.check_json()

    schema = _schema(document)
    assert schema["current_matches"] is True, schema
    assert schema["closest_differences"] == []
    # (the blog's models know nothing of the new columns: schema-drift says so, rightly)
    assert checks_found(document) <= {"schema-drift"}, document["findings"]

    # the version table emptied: the head is offered, its change to the comments shown
    database.execute("DELETE FROM alembic_version")
    _, document = blog.check_json()
    exists = finding(document, "table-exists")
    assert exists["evidence"]["verified_applied"] == FLAG
    assert exists["fixes"][0]["command"] == f"migdoctor fix stamp --revision {FLAG}"
    assert exists["evidence"]["unread_revisions"] == {
        ANALYTICS: "an operation on a computed table (line 35): "
        "op.add_column(table_name, sa.Column('views', sa.Integer(), nullable=True))"
    }

    # a column the article table was created with dropped by hand: after the unreadable
    # revision no table is known, so no revision is verified, and the reason is said rather
    # than differences to mend
    database.execute("ALTER TABLE article DROP COLUMN body")
    result = blog.migdoctor("check")
    _, document = blog.check_json()
    schema = _schema(document)
    assert schema["matches"] == [], schema
    assert schema["closest_differences"] == []
    assert str(schema["unread"]).startswith(
        f"Revision {ANALYTICS} could not be read in full from its source (an operation on a "
        "computed table (line 35)"
    ), schema
    header = " ".join(result.stdout.split())
    assert f"revision {ANALYTICS} could not be read in full from its source" in header, header
    exists = finding(document, "table-exists")
    message = " ".join(exists["message"].split())
    assert exists["evidence"]["verified_applied"] is None
    assert not [fix for fix in exists["fixes"] if fix["id"] == "stamp"], exists["fixes"]
    assert (
        "so the history cannot say which tables it changed, and the live schema cannot be "
        "checked against what it left: the differences may be the history's, not the "
        "database's. Check which revision the database is at by hand, then stamp it with "
        "--force." in message
    ), message
    assert "Make the differences match" not in message
