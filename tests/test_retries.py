"""upgrade --retries: a revision that gave up on a lock held by another session is tried again,
waiting longer each time, and succeeds once the lock is released; each attempt is shown and
journaled (.migdoctor/journal.jsonl: the revision that gave up, the session in the way, the
wait, and the attempt that succeeded). Without --retries it gives up as before, and journals
nothing. On the servers, with a real lock held and released by another session."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Database
from tests.helpers import BIO, COMMENT, blog_with_bio, hold_user_table, migdoctor_command


@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_a_revision_that_gave_up_on_a_lock_is_retried_until_it_is_released(
    tmp_path: Path, server_database: Database
) -> None:
    blog = blog_with_bio(tmp_path, server_database)
    blocker, holder = hold_user_table(server_database)
    try:
        upgrade = subprocess.Popen(
            [*migdoctor_command(), "upgrade", "--lock-timeout", "1", "--retries", "6"],
            cwd=blog.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        time.sleep(4)  # the first attempt and at least one retry give up meanwhile
        assert upgrade.poll() is None, "the upgrade stopped instead of retrying"
    finally:
        blocker.close()  # the other session ends its transaction: the lock is free

    output, _ = upgrade.communicate(timeout=90)

    assert upgrade.returncode == 0, output
    said = " ".join(output.split())
    assert f"Revision {BIO} gave up waiting for a lock, and nothing of it took effect" in said
    assert "trying again in" in said and "(retry 1 of 6)" in said
    assert server_database.version_rows() == [BIO]
    quoted = '"user"' if server_database.backend == "postgresql" else "`user`"
    assert server_database.scalars(f"SELECT COUNT(bio) FROM {quoted}") == [0]  # the column is there

    attempts = journaled_attempts(blog.root)
    assert len(attempts) >= 2
    assert len({a["id"] for a in attempts}) == 1  # one run
    *gave_up, succeeded = attempts
    assert [a["attempt"] for a in attempts] == list(range(1, len(attempts) + 1))
    for attempt in gave_up:
        assert attempt["outcome"] == "gave up on a lock"
        assert (attempt["command"], attempt["revision"], attempt["lock_timeout"]) == (
            "upgrade",
            BIO,
            True,
        )
        assert attempt["attempts_allowed"] == 7
        assert 0.5 <= attempt["retry_in"] <= 30
    # the first attempt gave up while the other session surely held the lock (a later one may
    # give up just as it is released, and find no one in the way)
    assert any(f"session {holder}" in s for s in gave_up[0]["sessions_in_the_way"]), gave_up
    assert (succeeded["outcome"], succeeded["revisions"]) == ("succeeded", [BIO])
    assert f"Succeeded on attempt {len(attempts)} of 7; each attempt is journaled in" in said
    listed = blog.migdoctor("undo", "--list")  # the attempts are listed, apart from the fixes
    assert listed.exit_code == 0, listed
    shown = " ".join(listed.output.split())
    assert "Runs with --retries, attempt by attempt" in shown
    assert f"{succeeded['id']} upgrade heads 1 of 7 gave up on a lock at {BIO}" in shown
    assert f"{len(attempts)} of 7 succeeded" in shown
    assert "The journal is empty: no fix was applied" in shown  # an attempt is no fix to undo


def journaled_attempts(root: Path) -> list[dict[str, Any]]:
    journal = root / ".migdoctor" / "journal.jsonl"
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    return [r for r in records if r["event"] == "attempt"]


@pytest.mark.parametrize("server_database", ["postgresql"], indirect=True)
def test_without_retries_it_gives_up_once(tmp_path: Path, server_database: Database) -> None:
    blog = blog_with_bio(tmp_path, server_database)
    blocker, _ = hold_user_table(server_database)
    try:
        result = blog.migdoctor("upgrade", "--lock-timeout", "1")
    finally:
        blocker.close()
    assert result.exit_code == 1, result
    assert "trying again" not in result.output
    assert server_database.version_rows() == [COMMENT]
    journal = blog.root / ".migdoctor" / "journal.jsonl"
    assert not journal.exists() or journaled_attempts(blog.root) == []
