"""The neuter-upgrade fix: empties upgrade() (and downgrade()) of a pending revision and nothing
else of the file, refuses a revision already applied, and is undone byte for byte; through the
installed CLI on every backend."""

from __future__ import annotations

from tests.conftest import Database
from tests.helpers import (
    ARTICLE,
    COMMENT,
    USER,
    Project,
    article_by_hand,
    journal,
)


def test_neuter_upgrade_keeps_the_rest_of_the_file(blog: Project, database: Database) -> None:
    article_by_hand(blog, database)
    path = blog.versions / "2b3c4d5e6f70_create_article_table.py"
    original = path.read_bytes()

    result = blog.migdoctor("fix", "neuter-upgrade", "--revision", ARTICLE, "--yes")

    assert result.exit_code == 0, result
    assert "-    op.create_table('article'," in result.stdout  # the diff was shown
    neutered = path.read_bytes()
    head, _, _ = original.partition(b'    """Upgrade schema."""\n')
    assert neutered.startswith(head + b'    """Upgrade schema."""\n')
    # downgrade() is emptied too (it would drop the table upgrade() no longer creates)
    assert neutered.endswith(b"    pass\n    # ### end Alembic commands ###\n")
    assert b"migdoctor neuter-upgrade" in neutered and b"\n    pass\n" in neutered
    assert b"op.create_table('article'" not in neutered
    assert b"op.drop_table('article')" not in neutered
    started = journal(blog)[0]
    assert started["plan"]["files"][0]["before_sha256"]
    # the pending upgrade now passes over the existing table
    assert blog.migdoctor("fix", "upgrade", "--yes").exit_code == 0
    assert database.version_rows() == [COMMENT]
    undone = blog.migdoctor("undo", "--yes")  # undo the upgrade: back to where it started
    assert undone.exit_code == 0, undone
    assert "runs the downgrade() of each revision" in undone.stdout
    assert database.version_rows() == [USER]
    assert "article" in database.table_names()  # made by hand: never dropped by undo
    assert blog.migdoctor("undo", "--yes").exit_code == 0  # undo the neutering
    assert path.read_bytes() == original


def test_neuter_refuses_a_revision_already_applied(blog: Project, database: Database) -> None:
    blog.upgrade(ARTICLE)
    path = blog.versions / "1a2b3c4d5e6f_create_user_table.py"
    original = path.read_bytes()

    result = blog.migdoctor("fix", "neuter-upgrade", "--revision", USER, "--yes")

    assert result.exit_code == 1, result
    assert "not pending" in result.stdout
    assert path.read_bytes() == original
