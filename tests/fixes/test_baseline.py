"""The baseline fix: after the versions folder was emptied to "start over" over a database that
still has its tables, it writes one revision that creates the live schema and records it; a new
database built from that revision has the same schema; undo deletes the file and puts the version
table back. Through the installed CLI on every backend."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Database, another_database
from tests.helpers import Project, finding, journal, schema_of


def started_over(blog: Project, database: Database) -> None:
    """The blog at its head, then every revision file deleted and alembic_version dropped."""
    blog.upgrade("head")
    for path in blog.versions.glob("*.py"):
        path.unlink()
    database.execute("DROP TABLE alembic_version")


def test_baseline_writes_the_live_schema_as_one_revision_and_undo_takes_it_back(
    blog: Project, database: Database, tmp_path: Path
) -> None:
    started_over(blog, database)
    schema_before = schema_of(database)
    _, document = blog.check_json()
    offered = finding(document, "untracked-schema")
    assert [fix["id"] for fix in offered["fixes"]] == ["baseline"]

    fixed = blog.migdoctor("fix", "baseline", "--yes")

    assert fixed.exit_code == 0, fixed
    written = list(blog.versions.glob("*.py"))
    assert len(written) == 1
    revision = written[0].name.split("_")[0]
    text = written[0].read_text()
    assert "op.create_table('user'" in text and "op.drop_table('comment')" in text
    assert "alembic_version" not in text
    assert "def downgrade" in fixed.stdout  # the revision was shown before consent
    current = blog.alembic("current")
    assert f"{revision} (head)" in current.stdout, current
    assert database.version_rows() == [revision]
    assert schema_of(database) == schema_before  # nothing but the version table changed
    healthy, _ = blog.check_json()
    assert healthy == 0
    with another_database(database, tmp_path) as fresh:
        built = blog.alembic("upgrade", "head", env={"BLOG_DATABASE_URL": fresh.url})
        assert built.exit_code == 0, built
        assert schema_of(fresh) == schema_before

    undone = blog.migdoctor("undo", "--yes")

    assert undone.exit_code == 0, undone
    assert list(blog.versions.glob("*.py")) == []
    assert "alembic_version" not in database.table_names()
    assert schema_of(database) == schema_before
    assert [record["event"] for record in journal(blog)][-1] == "undone"


def test_baseline_replaces_an_unknown_row_and_undo_restores_it(
    blog: Project, database: Database
) -> None:
    blog.upgrade("head")
    for path in blog.versions.glob("*.py"):
        path.unlink()

    fixed = blog.migdoctor("fix", "baseline", "--revision", "0123456789ab", "--yes")

    assert fixed.exit_code == 0, fixed
    assert "Replaces 3c4d5e6f7081" in fixed.stdout
    assert database.version_rows() == ["0123456789ab"]
    assert blog.migdoctor("undo", "--yes").exit_code == 0
    assert database.version_rows() == ["3c4d5e6f7081"]
    assert list(blog.versions.glob("*.py")) == []


def test_baseline_refuses_beside_an_existing_history(blog: Project, database: Database) -> None:
    blog.upgrade("head")

    refused = blog.migdoctor("fix", "baseline", "--yes")

    assert refused.exit_code == 1, refused
    assert "migdoctor squash" in refused.stdout
    assert len(list(blog.versions.glob("*.py"))) == 3
