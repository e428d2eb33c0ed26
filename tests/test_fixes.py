"""Repairs through the installed CLI on every backend: planned, consented to, journaled, atomic,
and undoable; refused without consent or against the evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import (
    TAG,
    Project,
    add_tag_revision,
    article_by_hand,
    journal,
    migdoctor_command,
    run_in_terminal,
)

USER, ARTICLE, COMMENT = "1a2b3c4d5e6f", "2b3c4d5e6f70", "3c4d5e6f7081"


def test_no_consent_without_a_terminal_changes_nothing(blog: Project, database: Database) -> None:
    article_by_hand(blog, database)

    result = blog.migdoctor("fix", "stamp", "--revision", ARTICLE)

    assert result.exit_code == 2, result
    assert "needs your consent" in result.stdout
    assert database.version_rows() == [USER]
    assert journal(blog) == []


def test_dry_run_changes_nothing(blog: Project, database: Database) -> None:
    article_by_hand(blog, database)

    result = blog.migdoctor("fix", "stamp", "--revision", ARTICLE, "--dry-run")

    assert result.exit_code == 0, result
    assert "Dry run: nothing was changed" in result.stdout
    assert database.version_rows() == [USER]
    assert journal(blog) == []


def test_undo_refuses_when_the_state_changed_since(blog: Project, database: Database) -> None:
    article_by_hand(blog, database)
    assert blog.migdoctor("fix", "stamp", "--revision", ARTICLE, "--yes").exit_code == 0
    database.execute(f"UPDATE alembic_version SET version_num = '{COMMENT}'")

    result = blog.migdoctor("undo", "--yes")

    assert result.exit_code == 1, result
    assert "changed since the fix" in result.stdout
    assert database.version_rows() == [COMMENT]


def test_fix_without_id_shows_every_plan_and_changes_nothing(
    blog: Project, database: Database
) -> None:
    article_by_hand(blog, database)

    result = blog.migdoctor("fix")

    assert result.exit_code == 0, result
    assert "Plan · stamp · caution" in result.stdout
    assert "Plan · neuter-upgrade · dangerous" in result.stdout
    assert "Nothing was changed" in result.stdout
    assert database.version_rows() == [USER]


def test_unknown_fix_id(blog_offline: Project) -> None:
    result = blog_offline.migdoctor("fix", "make-it-work", "--yes")

    assert result.exit_code == 2
    assert "Unknown fix 'make-it-work'" in result.stderr


# -- interactive ---------------------------------------------------------------------------------


def test_enter_everywhere_applies_only_safe_fixes(blog: Project, database: Database) -> None:
    article_by_hand(blog, database)  # the recommended repair is a stamp (caution)

    result = run_in_terminal([*migdoctor_command(), "fix", "--interactive"], blog.root)

    assert result.exit_code == 0, result
    assert "Apply stamp? [y/n] (n)" in result.stdout
    assert "0 fixes applied" in result.stdout
    assert database.version_rows() == [USER]
    assert journal(blog) == []


def test_enter_everywhere_applies_a_safe_upgrade(blog: Project, database: Database) -> None:
    blog.upgrade(USER)

    result = run_in_terminal([*migdoctor_command(), "fix", "--interactive"], blog.root)

    assert result.exit_code == 0, result
    assert "Apply upgrade? [y/n] (y)" in result.stdout
    assert "1 fix applied" in result.stdout
    assert database.version_rows() == [COMMENT]


def test_interactive_stamp_then_upgrade(blog: Project, database: Database) -> None:
    article_by_hand(blog, database)

    # choose the recommended stamp (Enter), say yes; then the upgrade is offered: Enter, Enter
    result = run_in_terminal(
        [*migdoctor_command(), "fix", "--interactive"], blog.root, answers=["", "y", "", ""]
    )

    assert result.exit_code == 0, result
    assert "UPDATE alembic_version" in result.stdout
    assert "2 fixes applied" in result.stdout
    # the article table made outside the migrations is exactly the revision's (the stamp was
    # verified by alembic's comparison), so nothing is left once the upgrade ran
    assert "Checked again: no problems found." in result.stdout
    assert database.version_rows() == [COMMENT]


def test_interactive_needs_a_terminal(blog_offline: Project) -> None:
    result = blog_offline.migdoctor("fix", "--interactive", input="y\n")

    assert result.exit_code == 2
    assert "needs a terminal" in result.stdout


def test_journal_has_no_password(tmp_path: Path) -> None:
    from migdoctor.findings import Risk
    from migdoctor.redact import remember_secret
    from migdoctor.repair.journal import Journal
    from migdoctor.repair.plan import Plan

    remember_secret("hunter2-secret")
    entries = Journal(tmp_path)
    entries.start(
        Plan(
            fix="stamp",
            title="x",
            risk=Risk.CAUTION,
            warnings=("url mysql://u:hunter2-secret@h/db",),
        ),
        {"url": "mysql://u:hunter2-secret@h/db"},
    )
    assert "hunter2-secret" not in entries.path.read_text()


def test_the_journal_stays_out_of_version_control(blog: Project, database: Database) -> None:
    article_by_hand(blog, database)

    assert blog.migdoctor("fix", "stamp", "--yes").exit_code == 0

    assert (blog.root / ".migdoctor" / ".gitignore").read_text().splitlines()[-1] == "*"


@pytest.mark.parametrize(
    ("fix", "action"), [("rebase-heads", "rebase"), ("archive-branch", "archive")]
)
def test_the_branch_fixes_choose_the_head_alike(
    blog: Project, database: Database, fix: str, action: str
) -> None:
    """rebase-heads and archive-branch choose the head they act on by one rule (the only head
    refused, --revision as alembic reads it, else the head no database ran) and refuse in the
    same words, changing nothing."""
    blog.upgrade(COMMENT)

    alone = blog.migdoctor("fix", fix, "--yes")

    assert alone.exit_code == 1, alone
    assert f"There is only one head: no branch to {action}." in " ".join(alone.stdout.split())

    add_tag_revision(blog, ARTICLE)  # a second head beside the comment revision
    files = {path: path.read_bytes() for path in blog.versions.glob("*.py")}

    wrong = blog.migdoctor("fix", fix, "--revision", ARTICLE, "--yes")

    said = " ".join(wrong.stdout.split())
    assert wrong.exit_code == 1, wrong
    assert f"--revision {ARTICLE} is not one of the heads" in said
    assert COMMENT in said and TAG in said

    ran = blog.migdoctor("fix", fix, "--revision", COMMENT[:6], "--yes")  # a prefix names it

    said = " ".join(ran.stdout.split())
    assert ran.exit_code == 1, ran
    assert (
        f"{COMMENT} of the branch of {COMMENT} was already run (this database's version table "
        "shows it)" in said
    )
    assert f"{action.capitalize()} the branch of {TAG} instead (--revision {TAG})" in said
    assert {path: path.read_bytes() for path in blog.versions.glob("*.py")} == files
    assert database.version_rows() == [COMMENT]
