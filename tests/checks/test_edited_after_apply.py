"""edited-after-apply and migdoctor's ledger: revisions applied through migdoctor are recorded in
migdoctor_ledger; a file edited afterwards is reported with what changed, on every backend."""

from __future__ import annotations

import hashlib

import pytest

from tests.conftest import Database
from tests.helpers import (
    ARTICLE_FILE,
    COMMENT,
    COMMENT_FILE,
    USER,
    Project,
    checks_found,
    edit,
    finding,
)


def test_an_applied_revision_edited_afterwards_is_reported_and_the_log_lists_the_ledger(
    blog: Project, database: Database
) -> None:
    upgraded = blog.migdoctor("upgrade", "head")
    assert upgraded.exit_code == 0, upgraded
    assert "migdoctor_ledger" in database.table_names()
    code, healthy = blog.check_json()
    assert (code, checks_found(healthy)) == (0, set())  # the ledger is no drift, no untracked

    recorded = hashlib.sha256((blog.root / COMMENT_FILE).read_bytes()).hexdigest()
    edit(
        blog,
        COMMENT_FILE,
        "sa.Column('content', sa.String(length=500), nullable=False),",
        "sa.Column('content', sa.String(length=800), nullable=False),\n"
        "    sa.Column('author', sa.String(length=80), nullable=True),",
    )
    _, document = blog.check_json()

    assert checks_found(document) == {"edited-after-apply"}
    edited = finding(document, "edited-after-apply")
    assert edited["severity"] == "warning" and edited["code"] == "MD208"
    evidence = edited["evidence"]
    assert (evidence["revision"], evidence["path"]) == (COMMENT, COMMENT_FILE)
    assert evidence["recorded_sha256"] == recorded
    assert (evidence["lines_added"], evidence["lines_removed"]) == (2, 1)
    assert "2 lines added, 1 removed" in edited["message"]

    log = blog.migdoctor("log", "--format", "json")
    assert log.exit_code == 0, log
    entries = log.json()["entries"]
    assert [(e["revision"], e["direction"]) for e in entries][-1] == (USER, "upgrade")
    assert [e["revision"] for e in entries if e["edited_since"]] == [COMMENT]
    assert all(e["command"] == "upgrade" and e["alembic_version"] for e in entries)
    assert entries[0]["file_sha256"] == recorded
    if database.backend != "sqlite":
        assert entries[0]["database_user"]
    text = blog.migdoctor("log")
    assert COMMENT in text.stdout and "(edited since)" in text.stdout


def test_no_ledger_writes_nothing_and_the_checks_work_as_before(
    blog: Project, database: Database
) -> None:
    result = blog.migdoctor("--no-ledger", "upgrade", "head")
    assert result.exit_code == 0, result
    edit(blog, ARTICLE_FILE, "def upgrade()", "# edited\ndef upgrade()")

    code, document = blog.check_json()

    assert "migdoctor_ledger" not in database.table_names()
    assert (code, checks_found(document)) == (0, set())
    log = blog.migdoctor("log")
    assert log.exit_code == 0 and "No ledger here" in log.stdout


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_the_ledger_table_is_named_in_the_ini_and_stamps_are_recorded(
    blog: Project, database: Database
) -> None:
    blog.ini.write_text(blog.ini.read_text() + "\n[migdoctor]\nledger_table = applied_log\n")
    stamped = blog.migdoctor("stamp", "head")
    assert stamped.exit_code == 0, stamped
    edit(blog, COMMENT_FILE, "def upgrade()", "# edited\ndef upgrade()")

    _, document = blog.check_json()
    log = blog.migdoctor("log", "--format", "json").json()

    assert "applied_log" in database.table_names()
    assert "migdoctor_ledger" not in database.table_names()
    assert log["ledger_table"] == "applied_log"
    assert [(e["revision"], e["direction"]) for e in log["entries"]] == [(COMMENT, "stamp")]
    edited = finding(document, "edited-after-apply")
    assert "when migdoctor stamp stamped it" in edited["message"]
    assert (edited["evidence"]["lines_added"], edited["evidence"]["lines_removed"]) == (1, 0)
