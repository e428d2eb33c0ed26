"""irreversible-downgrade: an empty downgrade() and a missing one, but not one that raises on
purpose; diagnosed offline through the installed CLI, on a copy of the blog fixture edited the way
users break it."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import (
    ARTICLE,
    ARTICLE_FILE,
    COMMENT,
    COMMENT_FILE,
    USER_FILE,
    checks_found,
    copy_project,
    edit,
    finding,
)


def test_irreversible_downgrades_are_one_info_finding(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "blog", None)
    edit(blog, ARTICLE_FILE, "op.drop_table('article')", "pass")
    comment = (blog.root / COMMENT_FILE).read_text()
    (blog.root / COMMENT_FILE).write_text(comment[: comment.index("def downgrade()")])
    # a downgrade that refuses on purpose is a decision, not an oversight
    edit(blog, USER_FILE, "op.drop_table('user')", "raise NotImplementedError('irreversible')")

    result = blog.migdoctor("check", "--offline")
    code, document = blog.check_json("--offline")

    assert result.exit_code == 0, result
    assert "i irreversible-downgrade" in result.stdout
    assert code == 0
    assert checks_found(document) == {"irreversible-downgrade"}
    irreversible = finding(document, "irreversible-downgrade")
    assert (irreversible["code"], irreversible["severity"]) == ("MD206", "info")
    assert [
        (r["revision"], r["path"], r["downgrade"]) for r in irreversible["evidence"]["revisions"]
    ] == [(ARTICLE, ARTICLE_FILE, "empty"), (COMMENT, COMMENT_FILE, "missing")]
    assert f"{COMMENT} defines no downgrade() at all" in irreversible["message"]
    # one item per revision, the message in brackets: seen on a history of revisions all
    # titled "change", which read "a2nick, change, a3summary, change"
    assert (
        f": {ARTICLE} (create article table), {COMMENT} (add comment table)."
        in (irreversible["message"])
    )
    assert document["summary"] == {"errors": 0, "warnings": 0, "infos": 1}
