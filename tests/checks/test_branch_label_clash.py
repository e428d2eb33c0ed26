"""branch-label-clash: a branch label declared by two revisions, or spelled like a revision id;
diagnosed offline through the installed CLI, on a copy of the blog fixture edited the way users
break it."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import (
    ARTICLE,
    ARTICLE_FILE,
    COMMENT,
    COMMENT_FILE,
    USER,
    checks_found,
    copy_project,
    finding,
    header,
)


def test_branch_label_clashes_are_named(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "blog", None)
    header(blog, ARTICLE_FILE, "branch_labels", "('feature',)")
    header(blog, COMMENT_FILE, "branch_labels", "('feature',)")
    alembic = blog.alembic("heads").output
    assert "Branch name 'feature' in revision" in alembic
    assert "already used by revision" in alembic

    code, document = blog.check_json("--offline")

    assert code == 1
    assert checks_found(document) == {"branch-label-clash"}
    clash = finding(document, "branch-label-clash")
    assert clash["code"] == "MD207"
    assert clash["evidence"]["label"] == "feature"
    assert clash["evidence"]["clashes_with_revision_id"] is False
    assert [(r["revision"], r["path"]) for r in clash["evidence"]["revisions"]] == [
        (ARTICLE, ARTICLE_FILE),
        (COMMENT, COMMENT_FILE),
    ]
    # a label spelled like a revision id clashes with that revision
    header(blog, ARTICLE_FILE, "branch_labels", f"('{USER}',)")
    header(blog, COMMENT_FILE, "branch_labels", "None")
    _, document = blog.check_json("--offline")
    clash = finding(document, "branch-label-clash")
    assert clash["evidence"]["clashes_with_revision_id"] is True
    assert clash["title"] == f"Branch label '{USER}' is also a revision id"
