"""destructive-operation: dropping a column of a table that holds rows (counted) and renaming a
table are warnings; dropping an empty table is not reported; ``ignore`` in ``[tool.migdoctor]``
silences the check."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Database
from tests.helpers import blog_with_users, pending_revision

USERS = 20_000


def test_drops_with_rows_and_renames_are_reported(tmp_path: Path, database: Database) -> None:
    project = blog_with_users(tmp_path, database, USERS)
    pending_revision(
        project,
        "op.drop_column('user', 'email')\n"
        "op.rename_table('comment', 'remark')\n"
        "op.drop_table('article')",
    )

    code, report = project.check_json()

    found = [f for f in report["findings"] if f["check"] == "destructive-operation"]
    assert sorted(f["evidence"]["operation"] for f in found) == [
        "drop column user.email",
        "rename table comment to remark",
    ]
    assert {(f["check"], f["code"], f["severity"]) for f in found} == {
        ("destructive-operation", "MD408", "warning")
    }
    dropped = next(f for f in found if f["evidence"]["operation"].startswith("drop"))
    assert dropped["evidence"]["rows"] >= USERS * 0.9
    assert "running during the deploy" in dropped["message"]
    assert code == 1  # stale-current: a revision is pending

    (project.root / "pyproject.toml").write_text(
        '[tool.migdoctor]\nignore = ["destructive-operation"]\n'
    )
    _, report = project.check_json()

    assert "destructive-operation" not in {f["check"] for f in report["findings"]}
