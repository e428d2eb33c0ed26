"""The reparent-revision fix: a revision whose parent no file defines is pointed at the best
candidate (a similar id, else the revision created just before it), only its header changes, and
undo puts the file back byte for byte. Scripts only, through the installed CLI."""

from __future__ import annotations

from tests.helpers import ARTICLE, ARTICLE_FILE, COMMENT, COMMENT_FILE, USER, Project, finding


def test_a_mistyped_parent_is_pointed_at_the_id_it_looks_like(blog_offline: Project) -> None:
    comment = blog_offline.root / COMMENT_FILE
    original = comment.read_bytes()
    typo = ARTICLE[:-1] + "9"
    comment.write_bytes(original.replace(ARTICLE.encode(), typo.encode()))
    broken = comment.read_bytes()
    code, document = blog_offline.check_json("--offline")
    assert code == 1
    (offered,) = finding(document, "missing-down-revision")["fixes"]
    assert offered["id"] == "reparent-revision"
    assert offered["command"].endswith(f"fix reparent-revision --revision {COMMENT}")
    assert offered["title"] == f"Point {COMMENT} at {ARTICLE} instead of {typo}"

    result = blog_offline.migdoctor("fix", "reparent-revision", "--revision", COMMENT, "--yes")

    assert result.exit_code == 0, result
    assert f"-Revises: {typo}" in result.stdout and f"+Revises: {ARTICLE}" in result.stdout
    # the header and the docstring are as before the typo: every other byte too
    assert comment.read_bytes() == original
    heads = blog_offline.alembic("heads")
    assert heads.exit_code == 0 and COMMENT in heads.stdout
    assert blog_offline.migdoctor("undo", "--yes").exit_code == 0
    assert comment.read_bytes() == broken


def test_a_deleted_parent_is_replaced_by_the_revision_created_before(
    blog_offline: Project,
) -> None:
    (blog_offline.root / ARTICLE_FILE).unlink()

    result = blog_offline.migdoctor("fix", "reparent-revision", "--yes")

    assert result.exit_code == 0, result
    # restoring the deleted file would be better: the plan says so before consent
    assert f"git log --all -- '*{ARTICLE}*'" in result.stdout
    text = (blog_offline.root / COMMENT_FILE).read_text()
    assert f"down_revision: Union[str, Sequence[str], None] = '{USER}'" in text
    assert f"Revises: {USER}" in text
    code, _ = blog_offline.check_json("--offline", "--select", "missing-down-revision")
    assert code == 0


def test_reparent_refuses_a_parent_that_would_make_a_cycle(blog_offline: Project) -> None:
    comment = blog_offline.root / COMMENT_FILE
    comment.write_bytes(comment.read_bytes().replace(ARTICLE.encode(), b"0000deadbeef"))
    before = comment.read_bytes()

    cycle = blog_offline.migdoctor(
        "fix", "reparent-revision", "--revision", COMMENT, "--onto", COMMENT, "--yes"
    )
    unknown = blog_offline.migdoctor(
        "fix", "reparent-revision", "--revision", COMMENT, "--onto", "feedfacecafe", "--yes"
    )

    assert cycle.exit_code == 1, cycle
    assert "that would make a cycle" in cycle.stdout
    assert unknown.exit_code == 1, unknown
    assert "--onto" in unknown.stdout
    assert comment.read_bytes() == before
