"""upgrade --statement-timeout: a statement of the migration that runs too long is stopped by the
database (PostgreSQL statement_timeout, MariaDB max_statement_time), the revision fails as on any
error and the version table stays where it was; SQLite says it cannot bound it. Through the CLI."""

from __future__ import annotations

import time

from tests.conftest import Database
from tests.helpers import ARTICLE, COMMENT, COMMENT_FILE, Project, edit

SLEEP = {"postgresql": "SELECT pg_sleep(30)", "mysql": "SELECT SLEEP(30)", "sqlite": "SELECT 1"}


def test_a_statement_longer_than_the_limit_is_stopped(blog: Project, database: Database) -> None:
    blog.upgrade(ARTICLE)
    edit(
        blog,
        COMMENT_FILE,
        "    op.create_table('comment',",
        f"    op.execute({SLEEP[database.backend]!r})\n    op.create_table('comment',",
    )
    started = time.monotonic()

    result = blog.migdoctor("upgrade", "--statement-timeout", "1")

    if database.backend == "sqlite":
        assert result.exit_code == 0, result
        assert "sqlite cannot bound a statement's time" in result.output
        assert database.version_rows() == [COMMENT]
        return
    assert time.monotonic() - started < 20, "the statement was not stopped"
    assert result.exit_code == 1, result
    said = " ".join(result.output.split())
    assert f"Revision {COMMENT} (add comment table) failed" in said
    assert "statement timeout" in said or "max_statement_time exceeded" in said
    assert database.version_rows() == [ARTICLE]
    assert "comment" not in database.table_names()
    # without the limit the same upgrade waits for the statement (shortened here) and succeeds
    edit(blog, COMMENT_FILE, SLEEP[database.backend], SLEEP[database.backend].replace("30", "1"))
    assert blog.migdoctor("upgrade").exit_code == 0
    assert database.version_rows() == [COMMENT]
