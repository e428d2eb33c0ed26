"""revision-cycle: the first revision made to build on the last; diagnosed offline through the
installed CLI, on a copy of the blog fixture edited the way users break it."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import (
    ARTICLE,
    COMMENT,
    USER,
    USER_FILE,
    checks_found,
    copy_project,
    finding,
    header,
)


def test_revision_cycle_is_shown_as_a_path(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "blog", None)
    header(blog, USER_FILE, "down_revision", repr(COMMENT))
    assert "Cycle is detected in revisions" in blog.alembic("heads").output

    result = blog.migdoctor("check", "--offline")
    code, document = blog.check_json("--offline")

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"{USER} → {COMMENT} → {ARTICLE} → {USER}" in result.stdout
    assert code == 1
    assert checks_found(document) == {"revision-cycle"}
    cycle = finding(document, "revision-cycle")
    assert cycle["code"] == "MD204"
    assert cycle["evidence"]["cycle"] == [USER, COMMENT, ARTICLE, USER]
    assert cycle["evidence"]["links"][0] == {
        "revision": USER,
        "path": USER_FILE,
        "names": COMMENT,
        "as": "down_revision",
    }
