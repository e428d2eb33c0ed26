"""multiple-heads: unmerged heads (an error, with merge-heads offered), the labeled heads of the
expand/contract fixture (an info, and nothing else), and a split inside a labeled branch (an error);
diagnosed offline through the installed CLI."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import Database
from tests.helpers import (
    ARTICLE,
    COMMENT,
    TAG,
    TAG_FILE,
    Project,
    add_revision,
    add_tag_revision,
    checks_found,
    copy_project,
    finding,
)

# the expand/contract fixture: a shared history, then two labeled branches in their own folders
EXPAND_STOCK, CONTRACT_CODE = "e2b3c4d5e6f7", "c1d2e3f4a5b6"


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
        ("merge-heads", "safe", "migdoctor fix merge-heads"),
        ("rebase-heads", "dangerous", "migdoctor fix rebase-heads"),
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


def test_branches_that_change_the_same_column_are_named(blog: Project, database: Database) -> None:
    # two developers each add user.bio on their own branch after the comment revision
    add_revision(
        blog, "aaaa00000001", COMMENT, "op.add_column('user', sa.Column('bio', sa.Text()))"
    )
    add_revision(
        blog,
        "bbbb00000001",
        COMMENT,
        "op.add_column('user', sa.Column('bio', sa.String(200)))\n"
        "op.create_table('badge', sa.Column('id', sa.Integer(), primary_key=True))",
        message="bio and badges",
    )
    add_revision(blog, "bbbb00000002", "bbbb00000001", "op.drop_table('badge')")
    blog.upgrade(COMMENT)

    for mode in (("--offline",), ()):
        _, document = blog.check_json(*mode)

        heads = finding(document, "multiple-heads")
        # read from the files offline, recorded online: the same evidence
        assert heads["evidence"]["changed_by_both"] == [
            {
                "change": "column user.bio",
                "branches": {
                    "aaaa00000001": ["aaaa00000001: add column user.bio"],
                    "bbbb00000002": ["bbbb00000001: add column user.bio"],
                },
            }
        ], mode
        assert "Both branches change column user.bio" in heads["message"]
        # a merge alone mends nothing there: offered, not recommended
        merge = next(fix for fix in heads["fixes"] if fix["id"] == "merge-heads")
        assert merge["recommended"] is False, merge
    # two heads are plural (seen on Netflix/dispatch with a second head in a scratch copy)
    stale = finding(document, "stale-current")
    assert "the scripts' heads are aaaa00000001, bbbb00000002." in stale["message"], stale

    text = " ".join(blog.migdoctor("check", "--offline").stdout.split())
    # the text report says it in words, not as Python's tuples
    assert "branches: aaaa00000001: aaaa00000001: add column user.bio" in text
    assert "('" not in text
