"""missing-down-revision: a down_revision that is a typo of an existing id, a depends_on naming
nothing, and a parent whose file cannot be loaded; diagnosed offline through the installed CLI, on a
copy of the blog fixture edited the way users break it."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import (
    ARTICLE,
    ARTICLE_FILE,
    COMMENT,
    COMMENT_FILE,
    TAG,
    TAG_FILE,
    USER,
    add_tag_revision,
    checks_found,
    copy_project,
    edit,
    finding,
    header,
)


def test_missing_down_revision_names_the_file_and_the_look_alike(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "blog", None)
    header(blog, COMMENT_FILE, "down_revision", "'2b3c4d5e6f71'")
    alembic = blog.alembic("heads")
    assert "Revision 2b3c4d5e6f71 referenced from" in alembic.output
    assert "KeyError: '2b3c4d5e6f71'" in alembic.output
    header(blog, ARTICLE_FILE, "depends_on", "'search'")

    result = blog.migdoctor("check", "--offline")
    code, document = blog.check_json("--offline")

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    # the revision cut off from its parent is not reported as a second head
    assert "skipped: a revision builds on a revision no file defines" in result.stdout
    assert code == 1
    assert checks_found(document) == {"missing-down-revision"}
    missing = [f for f in document["findings"] if f["check"] == "missing-down-revision"]
    assert [f["evidence"] for f in missing] == [
        {
            "revision": ARTICLE,
            "path": ARTICLE_FILE,
            "missing": "search",
            "via": "depends_on",
            "similar": [],
            "unloadable_file": [],
        },
        {
            "revision": COMMENT,
            "path": COMMENT_FILE,
            "missing": "2b3c4d5e6f71",
            "via": "down_revision",
            "similar": [ARTICLE],
            "unloadable_file": [],
        },
    ]
    assert missing[1]["code"] == "MD202"
    assert "looks like 2b3c4d5e6f70" in missing[1]["message"]


def test_child_of_an_unloadable_file_points_at_it(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "blog", None)
    add_tag_revision(blog, down_revision=COMMENT)
    edit(blog, TAG_FILE, "from alembic import op", "from alembic import op\nimport tagging")
    header(blog, TAG_FILE, "revision", "tagging.REVISION")  # not literal: imported, and fails
    header(blog, COMMENT_FILE, "down_revision", repr(TAG))
    header(blog, ARTICLE_FILE, "down_revision", repr(USER))

    _, document = blog.check_json("--offline")

    load_error = finding(document, "script-load-error")
    assert load_error["evidence"]["error"] == "ModuleNotFoundError: No module named 'tagging'"
    missing = finding(document, "missing-down-revision")
    assert missing["evidence"]["missing"] == TAG
    assert missing["evidence"]["unloadable_file"] == [TAG_FILE]
    assert "may define it but cannot be loaded: see script-load-error" in missing["message"]
