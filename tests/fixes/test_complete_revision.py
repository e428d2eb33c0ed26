"""The complete-revision fix: what its undo cannot reverse is said in the plan (pure). It is applied
and undone in tests/checks/test_partial_migration.py."""

from __future__ import annotations

from migdoctor.fixes.complete_revision import undo_refusal
from migdoctor.operations.model import Operation


def test_undo_refuses_what_has_no_inverse_and_says_so_in_the_plan() -> None:
    assert undo_refusal([Operation("create_index", "t", name="ix")]) is None
    refusal = undo_refusal([Operation("execute", detail="UPDATE t SET x = 1")])
    assert refusal is not None
    assert "execute SQL: UPDATE t SET x = 1 has no safe inverse" in refusal
