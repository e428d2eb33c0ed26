"""The complete-revision fix: it is applied and undone in tests/checks/test_partial_migration.py
(and its undo counts rows in test_undo_safety.py); here, it refuses when no pending revision is
applied half way (through the installed CLI on every backend), and what its undo cannot reverse is
said in the plan (pure)."""

from __future__ import annotations

from migdoctor.facts.operations import Operation
from migdoctor.fixes.complete_revision import undo_refusal
from tests.conftest import Database
from tests.helpers import USER, Project, journal


def test_complete_revision_refuses_when_no_revision_is_applied_half_way(
    blog: Project, database: Database
) -> None:
    blog.upgrade(USER)

    refused = blog.migdoctor("fix", "complete-revision", "--yes")

    assert refused.exit_code == 1, refused
    assert "No pending revision is applied half way" in refused.stdout
    assert database.version_rows() == [USER]
    assert "article" not in database.table_names()
    assert journal(blog) == []


def test_undo_refuses_what_has_no_inverse_and_says_so_in_the_plan() -> None:
    assert undo_refusal([Operation("create_index", "t", name="ix")]) is None
    refusal = undo_refusal([Operation("execute", detail="UPDATE t SET x = 1")])
    assert refusal is not None
    assert "execute SQL: UPDATE t SET x = 1 has no safe inverse" in refusal
