"""The archive-branch fix: a branch that never ran and repeats the other (two initial revisions,
a history started over beside the old one) leaves the history, its files moved byte for byte to
an archive folder alembic does not load; refused for the branch this database ran; undone
byte for byte. Through the installed CLI on every backend (the pattern seen on
testdrivenio/fastapi-sqlmodel-alembic: two root histories that both create the same table)."""

from __future__ import annotations

from tests.conftest import Database
from tests.helpers import COMMENT, Project, add_revision, finding

INITIAL, TAGS = "aaaa00000001", "aaaa00000002"


def started_over_beside(blog: Project) -> None:
    """A second history from scratch: its initial revision creates user again, the next one
    creates a table the first history does not have."""
    add_revision(
        blog,
        INITIAL,
        None,
        "op.create_table('user', sa.Column('id', sa.Integer(), primary_key=True), "
        "sa.Column('username', sa.String(50), nullable=False))",
        message="initial",
    )
    add_revision(
        blog,
        TAGS,
        INITIAL,
        "op.create_table('tag', sa.Column('id', sa.Integer(), primary_key=True))",
        message="tags",
    )


def test_the_branch_that_never_ran_is_archived_and_undo_brings_it_back(
    blog: Project, database: Database
) -> None:
    assert blog.migdoctor("upgrade", COMMENT).exit_code == 0
    started_over_beside(blog)
    files = sorted(blog.versions.glob("aaaa*.py"))
    originals = {path.name: path.read_bytes() for path in files}
    _, document = blog.check_json()
    offered = [fix["id"] for fix in finding(document, "multiple-heads")["fixes"]]
    assert offered == ["merge-heads", "rebase-heads", "archive-branch"]

    refused = blog.migdoctor("fix", "archive-branch", "--revision", COMMENT, "--yes")
    assert refused.exit_code != 0, refused
    assert "was already run" in " ".join(refused.output.split())

    archived = blog.migdoctor("fix", "archive-branch", "--yes")

    assert archived.exit_code == 0, archived
    said = " ".join(archived.stdout.split())
    assert f"Archive {INITIAL}, {TAGS} (the branch of {TAGS})" in said
    assert "The other branch makes the same change to table user" in said
    assert f"{TAGS}: create table tag" in said  # what only the archived branch did
    folder = blog.root / "alembic" / "archived" / TAGS
    assert {path.name: path.read_bytes() for path in folder.glob("*.py")} == originals
    assert not list(blog.versions.glob("aaaa*.py"))
    _, document = blog.check_json()
    assert "multiple-heads" not in {f["check"] for f in document["findings"]}, document
    assert blog.migdoctor("heads").stdout.split()[0] == COMMENT

    undone = blog.migdoctor("undo", "--yes")

    assert undone.exit_code == 0, undone
    assert {path.name: path.read_bytes() for path in blog.versions.glob("aaaa*.py")} == originals
    assert not list(folder.glob("*.py"))
    assert database.version_rows() == [COMMENT]
