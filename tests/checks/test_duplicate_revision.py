"""duplicate-revision: a revision file copied with its id left unchanged; diagnosed offline through
the installed CLI, on a copy of the blog fixture edited the way users break it."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import (
    ARTICLE,
    COMMENT,
    COMMENT_FILE,
    TAG_FILE,
    add_tag_revision,
    checks_found,
    copy_project,
    finding,
)


def test_duplicate_revision_names_both_files_and_the_one_never_run(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "blog", None)
    # a revision started by copying the previous one, its id left unchanged
    add_tag_revision(blog, down_revision=ARTICLE, revision=COMMENT)
    assert f"Revision {COMMENT} is present more than once" in blog.alembic("heads").output

    code, document = blog.check_json("--offline")

    assert code == 1
    assert checks_found(document) == {"duplicate-revision"}
    duplicate = finding(document, "duplicate-revision")
    assert duplicate["code"] == "MD203"
    assert duplicate["evidence"]["revision"] == COMMENT
    assert [(f["path"], f["message"]) for f in duplicate["evidence"]["files"]] == [
        (COMMENT_FILE, "add comment table"),
        (TAG_FILE, "add tag table"),
    ]
    # alembic keeps the file it reads last
    assert duplicate["evidence"]["used"] == TAG_FILE
    assert duplicate["evidence"]["ignored"] == [COMMENT_FILE]
    assert f"the upgrade() of {COMMENT_FILE} never runs" in duplicate["message"]
