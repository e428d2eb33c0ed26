"""The renumber-revision fix: the copy of a duplicated id gets an id of its own after the head,
runs at the next upgrade, and undo puts the file back byte for byte; refused where the database
records the id. Through the installed CLI on every backend."""

from __future__ import annotations

import re

from tests.conftest import Database
from tests.helpers import ARTICLE, COMMENT, USER, Project, finding

# a second migration started by copying the article revision and never given its own id
TAG_COPY = f'''"""create tag table

Revision ID: {ARTICLE}
Revises: {USER}
Create Date: 2026-11-21 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "{ARTICLE}"
down_revision = "{USER}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("tag", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("tag")
'''


def copied(blog: Project) -> str:
    path = blog.versions / f"{ARTICLE}_create_tag_table.py"
    path.write_text(TAG_COPY)
    return str(path.relative_to(blog.root))


def test_renumber_the_copy_then_upgrade_and_undo(blog: Project, database: Database) -> None:
    blog.upgrade(USER)
    copy = copied(blog)
    code, document = blog.check_json()
    offered = finding(document, "duplicate-revision")["fixes"]
    assert [fix["id"] for fix in offered] == ["renumber-revision"]
    original = (blog.root / copy).read_bytes()
    before = sorted(p.name for p in blog.versions.glob("*.py"))

    result = blog.migdoctor(
        "fix", "renumber-revision", "--revision", ARTICLE, "--path", copy, "--yes"
    )

    assert result.exit_code == 0, result
    renamed = [p for p in blog.versions.glob("*_create_tag_table.py")]
    assert len(renamed) == 1 and not (blog.root / copy).exists()
    new_id = renamed[0].name.split("_")[0]
    assert re.fullmatch("[0-9a-f]{12}", new_id) and new_id != ARTICLE
    text = renamed[0].read_text()
    # the id, the docstring and the parent changed; nothing else did
    assert f'revision = "{new_id}"' in text and f"Revision ID: {new_id}" in text
    assert f'down_revision = "{COMMENT}"' in text and f"Revises: {COMMENT}" in text
    assert text.split("# revision identifiers")[1].count("\n") == TAG_COPY.split(
        "# revision identifiers"
    )[1].count("\n")
    assert 'op.create_table("tag"' in text
    code, document = blog.check_json("--select", "duplicate-revision", "--select", "multiple-heads")
    assert code == 0, document
    # the migration that was skipped runs at the next upgrade, after the head
    blog.upgrade()
    assert "tag" in database.table_names()
    assert database.version_rows() == [new_id]
    # while the database is at the new id, undo refuses: alembic could not read it after
    refused = blog.migdoctor("undo", "--yes")
    assert refused.exit_code == 1, refused
    assert f"which needs revision {new_id}" in refused.stdout
    assert renamed[0].exists()
    # below it, undo puts the copy back as it was
    assert blog.alembic("downgrade", COMMENT).exit_code == 0
    undone = blog.migdoctor("undo", "--yes")
    assert undone.exit_code == 0, undone
    assert sorted(p.name for p in blog.versions.glob("*.py")) == before
    assert (blog.root / copy).read_bytes() == original


def test_renumber_refuses_when_the_database_ran_the_id(blog: Project, database: Database) -> None:
    blog.upgrade()
    alone = blog.migdoctor("fix", "renumber-revision", "--revision", USER, "--dry-run")
    assert alone.exit_code == 1, alone
    assert "declared by one file only" in alone.stdout
    copy = copied(blog)
    original = (blog.root / copy).read_bytes()

    refused = blog.migdoctor(
        "fix", "renumber-revision", "--revision", ARTICLE, "--path", copy, "--yes"
    )

    assert refused.exit_code == 1, refused
    assert f"The database records {COMMENT}" in refused.stdout
    assert (blog.root / copy).read_bytes() == original
    # --force: the user compared the files; the copy then runs after the head
    forced = blog.migdoctor(
        "fix", "renumber-revision", "--revision", ARTICLE, "--path", copy, "--yes", "--force"
    )
    assert forced.exit_code == 0, forced
    blog.upgrade()
    assert "tag" in database.table_names()
