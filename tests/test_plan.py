"""``migdoctor plan``: per pending revision and operation, the lock, what it blocks, the table's
rows and size, the hazards and the prediction, as text and JSON, measured on the live database;
offline, the head revision read from its file without sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import COMMENT, PENDING, blog_with_users, pending_revision

USERS = 25_000
UPGRADE = """
op.create_index('ix_user_email_plain', 'user', ['email'])
op.add_column('user', sa.Column('nickname', sa.String(50), nullable=False))
op.create_table('tag', sa.Column('id', sa.Integer(), primary_key=True))
"""


@pytest.mark.parametrize("server_database", ["postgresql", "mysql"], indirect=True)
def test_plan_names_locks_sizes_and_what_will_fail(
    tmp_path: Path, server_database: Database
) -> None:
    project = blog_with_users(tmp_path, server_database, USERS)
    pending_revision(project, UPGRADE)

    shown = project.migdoctor("plan", "--format", "json")

    document = shown.json()
    assert [r["revision"] for r in document["revisions"]] == [PENDING]
    steps = {s["kind"]: s for s in document["revisions"][0]["operations"]}
    index, column, table = steps["create_index"], steps["add_column"], steps["create_table"]
    assert USERS * 0.9 <= index["rows"] <= USERS * 1.1
    assert index["total_bytes"] > 1_000_000
    assert table["existing_table"] is False and table["lock"] is None
    if server_database.backend == "postgresql":
        assert shown.exit_code == 1
        assert document["prediction"] == "fails"
        assert (index["lock"], index["blocks"]) == ("SHARE", "writes")
        assert [h["code"] for h in index["hazards"]] == ["MD401"]
        assert (column["lock"], column["blocks"]) == ("ACCESS EXCLUSIVE", "reads and writes")
        assert [(h["code"], h["fails"]) for h in column["hazards"]] == [("MD403", True)]
        assert column["prediction"] == "fails"
    else:
        # MariaDB builds the index online and fills the new column with zeros
        assert shown.exit_code == 0
        assert document["prediction"] == "succeeds, with warnings"
        assert index["blocks"] == "nothing" and index["hazards"] == []
        assert [(h["code"], h["fails"]) for h in column["hazards"]] == [("MD403", False)]
    assert server_database.version_rows() == [COMMENT]

    nothing = project.migdoctor("plan", COMMENT, "--format", "json")

    assert nothing.exit_code == 0, nothing
    assert nothing.json()["revisions"] == []

    text = project.migdoctor("plan")

    assert PENDING in text.output
    assert "create index ix_user_email_plain on user (email)" in text.output
    server = "PostgreSQL 15" if server_database.backend == "postgresql" else "MariaDB 10."
    assert document["server_version"].startswith(server)
    assert f"locks and rewrites as {document['server_version']} runs them" in text.output
    if server_database.backend == "postgresql":
        assert "lock SHARE, blocks writes" in text.output
        assert "The upgrade will fail" in text.output
    else:
        assert "succeeds, with warnings" in text.output


def test_plan_offline_reads_the_head_revision(tmp_path: Path) -> None:
    database = Database("sqlite", f"sqlite:///{tmp_path / 'app.db'}")
    project = blog_with_users(tmp_path, database, 10)
    pending_revision(project, "op.rename_table('user', 'member')")
    (tmp_path / "app.db").unlink()  # offline touches no database

    shown = project.migdoctor("plan", "--offline", "--format", "json")

    assert shown.exit_code == 0, shown
    [revision] = shown.json()["revisions"]
    [step] = revision["operations"]
    assert (step["operation"], step["rows"], step["lock"]) == (
        "rename table user to member",
        None,
        "database write lock",
    )
    assert [h["code"] for h in step["hazards"]] == ["MD408"]
    # offline the server's version is not known: the verdicts say they assume the newest
    assert shown.json()["server_version"] == "the newest SQLite (its version is not known: assumed)"
    assert not (tmp_path / "app.db").exists()

    text = project.migdoctor("plan", "--offline")

    assert "locks and rewrites as the newest SQLite (its version is not known: assumed)" in (
        " ".join(text.output.split())
    )
