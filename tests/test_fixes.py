"""Repairs through the installed CLI on every backend: planned, consented to, journaled, atomic,
and undoable; refused without consent or against the evidence."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Database
from tests.helpers import (
    Project,
    article_by_hand,
    checks_found,
    journal,
    migdoctor_command,
    run_in_terminal,
)

USER, ARTICLE, COMMENT = "1a2b3c4d5e6f", "2b3c4d5e6f70", "3c4d5e6f7081"


def test_stamp_repairs_table_exists_and_undo_restores(blog: Project, database: Database) -> None:
    article_by_hand(blog, database)

    fixed = blog.migdoctor("fix", "stamp", "--revision", ARTICLE, "--yes")

    assert fixed.exit_code == 0, fixed
    assert "UPDATE alembic_version SET version_num='2b3c4d5e6f70'" in fixed.stdout
    assert "Applied stamp" in fixed.stdout
    assert database.version_rows() == [ARTICLE]
    started, applied = journal(blog)
    assert started["event"] == "started" and applied["event"] == "applied"
    assert started["plan"]["version_table"]["rows_before"] == [USER]
    assert applied["after"]["version_rows"] == [ARTICLE]
    _, document = blog.check_json()
    assert checks_found(document) == {"stale-current"}  # the upgrade can now go on

    undone = blog.migdoctor("undo", "--yes")

    assert undone.exit_code == 0, undone
    assert database.version_rows() == [USER]
    assert "article" in database.table_names()  # a stamp never touched the tables
    listing = blog.migdoctor("undo", "--list")
    assert "stamp" in listing.stdout and "undone" in listing.stdout
    again = blog.migdoctor("undo", "--yes")
    assert again.exit_code == 0  # nothing to do is not a failure
    assert "Nothing to undo" in again.stdout


def test_stamp_without_revision_takes_the_recommended_one(
    blog: Project, database: Database
) -> None:
    article_by_hand(blog, database)

    result = blog.migdoctor("fix", "stamp", "--yes")

    assert result.exit_code == 0, result
    assert database.version_rows() == [ARTICLE]


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


def test_stamp_that_disagrees_with_the_schema_needs_force(
    blog: Project, database: Database
) -> None:
    blog.upgrade(USER)  # article and comment do not exist

    refused = blog.migdoctor("fix", "stamp", "--revision", "head", "--yes")

    assert refused.exit_code == 1, refused
    assert "table article" in refused.stdout and "table comment" in refused.stdout
    assert "Refused" in refused.stdout
    assert database.version_rows() == [USER]
    forced = blog.migdoctor("fix", "stamp", "--revision", "head", "--yes", "--force")
    assert forced.exit_code == 0, forced
    assert database.version_rows() == [COMMENT]


def test_stamp_behind_tables_that_exist_needs_force(blog: Project, database: Database) -> None:
    blog.upgrade("head")
    database.execute("DELETE FROM alembic_version")

    refused = blog.migdoctor("fix", "stamp", "--revision", USER, "--yes")

    assert refused.exit_code == 1, refused
    assert (
        "Table article, which later revision 2b3c4d5e6f70 creates, already exists" in refused.stdout
    )
    assert database.version_rows() == []


def test_stamp_refuses_a_revision_no_script_defines(blog: Project, database: Database) -> None:
    blog.upgrade(USER)

    result = blog.migdoctor("fix", "stamp", "--revision", "ffffffffffff", "--yes", "--force")

    assert result.exit_code == 1, result
    assert "Can't locate revision identified by 'ffffffffffff'" in result.stdout
    assert database.version_rows() == [USER]


def test_unknown_revision_stamped_to_the_candidate_and_back(
    blog: Project, database: Database
) -> None:
    blog.upgrade(ARTICLE)
    database.execute("UPDATE alembic_version SET version_num = '77525ee61b5b'")

    fixed = blog.migdoctor("fix", "stamp", "--yes")

    assert fixed.exit_code == 0, fixed
    assert "Replaces 77525ee61b5b" in fixed.stdout
    assert database.version_rows() == [ARTICLE]
    assert blog.migdoctor("undo", "--yes").exit_code == 0
    assert database.version_rows() == ["77525ee61b5b"]


def test_stamp_creates_a_missing_version_table_and_undo_drops_it(
    blog: Project, database: Database
) -> None:
    blog.upgrade("head")
    database.execute("DROP TABLE alembic_version")

    fixed = blog.migdoctor("fix", "stamp", "--revision", COMMENT, "--yes")

    assert fixed.exit_code == 0, fixed
    assert "CREATE TABLE alembic_version" in fixed.stdout
    assert database.version_rows() == [COMMENT]
    assert blog.migdoctor("check").exit_code == 0
    assert blog.migdoctor("undo", "--yes").exit_code == 0
    assert "alembic_version" not in database.table_names()


def test_clear_version_table_warns_and_is_undoable(blog: Project, database: Database) -> None:
    blog.upgrade("head")

    result = blog.migdoctor("fix", "clear-version-table", "--yes")

    assert result.exit_code == 0, result
    assert "re-runs every migration" in result.stdout
    assert f"migdoctor fix stamp --revision {COMMENT}" in result.stdout  # recommended instead
    assert database.version_rows() == []
    assert blog.migdoctor("undo", "--yes").exit_code == 0
    assert database.version_rows() == [COMMENT]


def test_neuter_upgrade_keeps_the_rest_of_the_file(blog: Project, database: Database) -> None:
    article_by_hand(blog, database)
    path = blog.versions / "2b3c4d5e6f70_create_article_table.py"
    original = path.read_bytes()

    result = blog.migdoctor("fix", "neuter-upgrade", "--revision", ARTICLE, "--yes")

    assert result.exit_code == 0, result
    assert "-    op.create_table('article'," in result.stdout  # the diff was shown
    neutered = path.read_bytes()
    head, _, _ = original.partition(b'    """Upgrade schema."""\n')
    assert neutered.startswith(head + b'    """Upgrade schema."""\n')
    # downgrade() is emptied too (it would drop the table upgrade() no longer creates)
    assert neutered.endswith(b"    pass\n    # ### end Alembic commands ###\n")
    assert b"migdoctor neuter-upgrade" in neutered and b"\n    pass\n" in neutered
    assert b"op.create_table('article'" not in neutered
    assert b"op.drop_table('article')" not in neutered
    started = journal(blog)[0]
    assert started["plan"]["files"][0]["before_sha256"]
    # the pending upgrade now passes over the existing table
    assert blog.migdoctor("fix", "upgrade", "--yes").exit_code == 0
    assert database.version_rows() == [COMMENT]
    undone = blog.migdoctor("undo", "--yes")  # undo the upgrade: back to where it started
    assert undone.exit_code == 0, undone
    assert "runs the downgrade() of each revision" in undone.stdout
    assert database.version_rows() == [USER]
    assert "article" in database.table_names()  # made by hand: never dropped by undo
    assert blog.migdoctor("undo", "--yes").exit_code == 0  # undo the neutering
    assert path.read_bytes() == original


def test_neuter_refuses_a_revision_already_applied(blog: Project, database: Database) -> None:
    blog.upgrade(ARTICLE)
    path = blog.versions / "1a2b3c4d5e6f_create_user_table.py"
    original = path.read_bytes()

    result = blog.migdoctor("fix", "neuter-upgrade", "--revision", USER, "--yes")

    assert result.exit_code == 1, result
    assert "not pending" in result.stdout
    assert path.read_bytes() == original


def test_upgrade_fix_runs_pending_and_refuses_a_failing_upgrade(
    blog: Project, database: Database
) -> None:
    article_by_hand(blog, database)
    refused = blog.migdoctor("fix", "upgrade", "--yes")
    assert refused.exit_code == 1
    assert "would fail" in refused.stdout
    assert database.version_rows() == [USER]
    database.execute("DROP TABLE article")

    result = blog.migdoctor("fix", "upgrade", "--yes")

    assert result.exit_code == 0, result
    assert "✓ [1/2] 2b3c4d5e6f70 create article table" in result.stdout
    assert database.version_rows() == [COMMENT]
    assert "no problems found" in result.stdout
    undone = blog.migdoctor("undo", "--yes")
    assert undone.exit_code == 0, undone
    assert database.version_rows() == [USER]
    assert "comment" not in database.table_names()


def test_undo_refuses_when_the_state_changed_since(blog: Project, database: Database) -> None:
    article_by_hand(blog, database)
    assert blog.migdoctor("fix", "stamp", "--revision", ARTICLE, "--yes").exit_code == 0
    database.execute(f"UPDATE alembic_version SET version_num = '{COMMENT}'")

    result = blog.migdoctor("undo", "--yes")

    assert result.exit_code == 1, result
    assert "changed since the fix" in result.stdout
    assert database.version_rows() == [COMMENT]


def test_merge_heads_and_undo(blog_offline: Project) -> None:
    created = blog_offline.migdoctor(
        "revision", "-m", "side", "--rev-id", "5e5e5e5e5e5e", "--head", USER, "--splice"
    )
    assert created.exit_code == 0, created
    before = sorted(p.name for p in blog_offline.versions.glob("*.py"))

    merged = blog_offline.migdoctor("fix", "merge-heads", "--yes")

    assert merged.exit_code == 0, merged
    heads = blog_offline.migdoctor("heads").stdout.strip().splitlines()
    assert len(heads) == 1 and "(head)" in heads[0]
    assert len(list(blog_offline.versions.glob("*merge_heads.py"))) == 1
    assert blog_offline.migdoctor("undo", "--yes").exit_code == 0
    assert sorted(p.name for p in blog_offline.versions.glob("*.py")) == before


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


def test_no_upgrade_over_a_history_alembic_cannot_load(blog: Project, database: Database) -> None:
    blog.upgrade(USER)
    (blog.versions / "9f9f9f9f9f9f_orphan.py").write_text(
        "revision = '9f9f9f9f9f9f'\ndown_revision = 'gone00000000'\n\n\ndef upgrade():\n    pass\n"
    )

    _, document = blog.check_json()
    refused = blog.migdoctor("fix", "upgrade", "--yes")

    stale = next(f for f in document["findings"] if f["check"] == "stale-current")
    assert stale["fixes"] == []
    assert "cannot upgrade until the history loads" in stale["message"]
    assert refused.exit_code == 1
    assert "missing-down-revision" in refused.stdout
    assert database.version_rows() == [USER]


def test_the_journal_stays_out_of_version_control(blog: Project, database: Database) -> None:
    article_by_hand(blog, database)

    assert blog.migdoctor("fix", "stamp", "--yes").exit_code == 0

    assert (blog.root / ".migdoctor" / ".gitignore").read_text().splitlines()[-1] == "*"
