"""upgrade --retries: a revision that gave up on a lock held by another session is tried again,
waiting longer each time, and succeeds once the lock is released; without --retries it gives up
as before. On the servers, with a real lock held and released by another session."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import BIO, COMMENT, blog_with_bio, hold_user_table, migdoctor_command


@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_a_revision_that_gave_up_on_a_lock_is_retried_until_it_is_released(
    tmp_path: Path, server_database: Database
) -> None:
    blog = blog_with_bio(tmp_path, server_database)
    blocker, _ = hold_user_table(server_database)
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
