"""The revision graph and the configuration, broken the way users break them, diagnosed offline
through the installed CLI: each scenario is a fixture project copied and then edited."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import (
    add_tag_revision,
    checks_found,
    copy_project,
    edit,
    finding,
    header,
)

USER, ARTICLE, COMMENT = "1a2b3c4d5e6f", "2b3c4d5e6f70", "3c4d5e6f7081"
USER_FILE = "alembic/versions/1a2b3c4d5e6f_create_user_table.py"
ARTICLE_FILE = "alembic/versions/2b3c4d5e6f70_create_article_table.py"
COMMENT_FILE = "alembic/versions/3c4d5e6f7081_add_comment_table.py"
TAG = "4d5e6f708192"
TAG_FILE = f"alembic/versions/{TAG}_add_tag_table.py"

# the expand/contract fixture: a shared history, then two labeled branches in their own folders
ITEM, WAREHOUSE = "a1b2c3d4e5f6", "b2c3d4e5f6a7"
EXPAND_SKU, EXPAND_STOCK, CONTRACT_CODE = "e1a2b3c4d5e6", "e2b3c4d5e6f7", "c1d2e3f4a5b6"


def test_unmerged_heads_are_an_error_with_merge_heads_fix(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "blog", None)
    add_tag_revision(blog, down_revision=ARTICLE)
    assert "Multiple head revisions are present" in blog.alembic("upgrade", "head").output

    result = blog.migdoctor("check", "--offline")
    code, document = blog.check_json("--offline")

    assert result.exit_code == 1, result
    assert "The history has more than one head" in result.stdout
    assert code == 1
    assert checks_found(document) == {"multiple-heads"}
    heads = finding(document, "multiple-heads")
    assert (heads["code"], heads["severity"]) == ("MD201", "error")
    assert [h["revision"] for h in heads["evidence"]["heads"]] == [COMMENT, TAG]
    assert heads["evidence"]["heads"][1]["path"] == TAG_FILE
    assert heads["evidence"]["unlabeled_heads"] == [COMMENT, TAG]
    assert heads["evidence"]["diverged_after"] == [ARTICLE]
    assert [(f["id"], f["risk"], f["command"]) for f in heads["fixes"]] == [
        ("merge-heads", "safe", "migdoctor fix merge-heads")
    ]


def test_expand_contract_project_has_no_false_finding(tmp_path: Path) -> None:
    # several version_locations, a branch label per head, and a depends_on across branches
    project = copy_project("expand_contract", tmp_path / "warehouse", None)

    code, document = project.check_json("--offline")

    assert code == 0
    assert document["project"]["heads"] == [EXPAND_STOCK, CONTRACT_CODE]
    assert checks_found(document) == {"multiple-heads"}
    heads = finding(document, "multiple-heads")
    assert heads["severity"] == "info"
    assert [(h["revision"], h["branch_labels"]) for h in heads["evidence"]["heads"]] == [
        (EXPAND_STOCK, ["expand"]),
        (CONTRACT_CODE, ["contract"]),
    ]
    assert "expand@head, contract@head" in heads["message"]
    assert heads["fixes"] == []
    # online, after alembic itself has applied both branches: still nothing but the info
    project.upgrade("heads")
    online = project.migdoctor("check")
    assert online.exit_code == 0, online
    assert "Several heads, each on its own labeled branch" in online.stdout
    assert "0 errors, 0 warnings, 1 info" in online.stdout


def test_split_inside_a_labeled_branch_is_an_error(tmp_path: Path) -> None:
    project = copy_project("expand_contract", tmp_path / "warehouse", None)
    contract = project.root / "migrations" / "contract"
    source = (contract / f"{CONTRACT_CODE}_drop_item_code_column.py").read_text()
    for revision in ("c2aaaaaaaaaa", "c3bbbbbbbbbb"):
        text = source.replace(f"'{CONTRACT_CODE}'", f"'{revision}'", 1)
        text = re.sub(
            r"^down_revision\b.*$", f"down_revision = '{CONTRACT_CODE}'", text, flags=re.M
        )
        text = re.sub(r"^branch_labels\b.*$", "branch_labels = None", text, flags=re.M)
        (contract / f"{revision}_second_contract.py").write_text(text)

    code, document = project.check_json("--offline")

    assert code == 1
    heads = finding(document, "multiple-heads")
    assert heads["severity"] == "error"
    # both new heads carry 'contract', so contract@head cannot tell them apart
    assert heads["evidence"]["unlabeled_heads"] == ["c2aaaaaaaaaa", "c3bbbbbbbbbb"]
    assert heads["evidence"]["diverged_after"] == [CONTRACT_CODE]
    assert (
        "No branch label of their own tells c2aaaaaaaaaa, c3bbbbbbbbbb apart" in (heads["message"])
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


def test_unloadable_files_are_findings_and_the_rest_is_checked(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "blog", None)
    add_tag_revision(blog, down_revision=COMMENT)
    edit(blog, TAG_FILE, "def upgrade() -> None:", "def upgrade() -> None")
    broken_line = (blog.root / TAG_FILE).read_text().splitlines().index("def upgrade() -> None") + 1
    (blog.versions / "helpers.py").write_text("def now():\n    return 1\n")
    assert "SyntaxError" in blog.alembic("heads").output

    result = blog.migdoctor("check", "--offline")
    code, document = blog.check_json("--offline")

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert code == 1
    assert document["project"]["heads"] == [COMMENT]
    assert checks_found(document) == {"script-load-error"}
    errors = [f for f in document["findings"] if f["check"] == "script-load-error"]
    assert [(e["evidence"]["path"], e["code"]) for e in errors] == [
        (TAG_FILE, "MD205"),
        ("alembic/versions/helpers.py", "MD205"),
    ]
    syntax = errors[0]["evidence"]
    assert syntax["line"] == broken_line
    assert syntax["error"].startswith("SyntaxError")
    assert "Could not determine revision id" in errors[1]["evidence"]["error"]
    assert "checked the 3 other revision file(s)" in errors[0]["message"]


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
    assert document["summary"] == {"errors": 0, "warnings": 0, "infos": 1}


def test_placeholder_url_is_reported_offline(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "blog", None)
    blog.set_url("driver://user:pass@localhost/dbname")

    result = blog.migdoctor("check", "--offline")
    code, document = blog.check_json("--offline")

    assert result.exit_code == 0, result
    assert "! placeholder-url" in result.stdout
    assert code == 0
    assert checks_found(document) == {"placeholder-url"}
    placeholder = finding(document, "placeholder-url")
    assert (placeholder["code"], placeholder["severity"]) == ("MD302", "warning")
    assert placeholder["evidence"] == {
        "config_file": "alembic.ini",
        "sqlalchemy_url": "driver://user:***@localhost/dbname",  # as every URL password
    }
    # a URL given on the command line replaces it
    _, document = blog.check_json("--offline", "--url", "sqlite:///elsewhere.db")
    assert document["findings"] == []
