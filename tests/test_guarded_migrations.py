"""migdoctor upgrade / downgrade: a preflight that refuses what would fail, a lock timeout that
names the session in the way, one run at a time, progress, and honest failure reports."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import (
    Project,
    add_revision,
    blog_with_bio,
    finding,
    hold_user_table,
    migdoctor_command,
)

USER, ARTICLE, COMMENT = "1a2b3c4d5e6f", "2b3c4d5e6f70", "3c4d5e6f7081"
BIO = "4d5e6f708192"


def test_upgrade_shows_progress_and_lands_at_head(blog: Project, database: Database) -> None:
    result = blog.migdoctor("upgrade")

    assert result.exit_code == 0, result
    assert "[1/3] 1a2b3c4d5e6f create user table …" in result.stdout
    assert "✓ [3/3] 3c4d5e6f7081 add comment table" in result.stdout
    assert "Upgraded 3 revisions" in result.stdout
    assert database.version_rows() == [COMMENT]
    again = blog.migdoctor("upgrade", "head")
    assert again.exit_code == 0
    assert "Nothing to upgrade" in again.stdout


def test_preflight_refuses_a_table_exists_upgrade_with_nothing_changed(
    blog: Project, database: Database
) -> None:
    blog.upgrade(USER)
    database.execute("CREATE TABLE article (id INTEGER PRIMARY KEY, title VARCHAR(10))")
    tables_before = database.table_names()

    refused = blog.migdoctor("upgrade", "head")

    assert refused.exit_code == 1, refused
    assert "table-exists" in refused.stdout
    assert "The upgrade would fail: nothing was changed." in refused.stdout
    assert database.version_rows() == [USER]
    assert database.table_names() == tables_before
    # upgrading only as far as the revision before the conflict is fine
    assert blog.migdoctor("upgrade", USER).exit_code == 0
    # without the preflight alembic runs into the wall, and says so in one line
    forced = blog.migdoctor("upgrade", "--no-preflight")
    assert forced.exit_code == 1
    assert "Traceback" not in forced.output
    assert "failed" in forced.output
    assert database.version_rows() == [USER]


def test_preflight_refuses_an_unknown_revision(blog: Project, database: Database) -> None:
    blog.upgrade(ARTICLE)
    database.execute("UPDATE alembic_version SET version_num = '77525ee61b5b'")

    for command in (["upgrade"], ["downgrade", "-1"]):
        result = blog.migdoctor(*command)
        assert result.exit_code == 1, result
        assert "unknown-revision" in result.stdout
    assert database.version_rows() == ["77525ee61b5b"]


def test_ambiguous_head_is_refused_and_heads_works(blog: Project, database: Database) -> None:
    blog.upgrade(USER)
    add_revision(
        blog,
        "5e5e5e5e5e5e",
        USER,
        "op.create_table('side', sa.Column('id', sa.Integer))",
        message="side",
    )

    refused = blog.migdoctor("upgrade", "head")

    assert refused.exit_code == 1, refused
    assert "Multiple head revisions are present" in refused.stdout
    assert database.version_rows() == [USER]
    accepted = blog.migdoctor("upgrade", "heads")
    assert accepted.exit_code == 0, accepted
    assert database.version_rows() == sorted([COMMENT, "5e5e5e5e5e5e"])


def test_sql_mode_passes_through_to_alembic(blog_offline: Project) -> None:
    result = blog_offline.migdoctor("upgrade", "head", "--sql")

    assert result.exit_code == 0, result
    assert "CREATE TABLE article" in result.stdout
    assert not (blog_offline.root / "blog.db").exists()


def test_a_failed_revision_is_named_and_the_version_table_kept(
    blog: Project, database: Database
) -> None:
    blog.upgrade("head")
    add_revision(
        blog,
        "6f6f6f6f6f6f",
        COMMENT,
        "op.create_table('tag', sa.Column('id', sa.Integer, primary_key=True),\n"
        "                sa.Column('name', sa.String(20)))\n"
        "op.create_index('ix_missing', 'no_such_table', ['name'])",
        downgrade="op.drop_table('tag')",
        message="create tag",
    )

    result = blog.migdoctor("upgrade")

    assert result.exit_code == 1, result
    assert "Traceback" not in result.output
    assert "✗ Revision 6f6f6f6f6f6f (create tag) failed" in result.stdout
    assert database.version_rows() == [COMMENT]
    if database.backend in ("mysql", "sqlite"):
        # neither rolled the DDL back (MySQL cannot; pysqlite runs DDL outside the
        # transaction): the table stays, and migdoctor says so
        assert "half applied" in result.stdout
        assert "Of revision 6f6f6f6f6f6f, in the schema: create table tag (id, name)." in (
            result.stdout
        )
        assert "Not in the schema: create index ix_missing on no_such_table (name)." in (
            result.stdout
        )
        assert "tag" in database.table_names()
    else:
        assert "tag" not in database.table_names()


def test_the_read_back_takes_an_index_of_the_name_on_other_columns_as_not_made(
    blog: Project, database: Database
) -> None:
    """A revision that adds a column and then indexes it under a name an index on other
    columns already holds (made by hand) fails on the index: the read-back says the index is
    not in the schema, where matching by name alone said it was; the index that is there is
    untouched."""
    blog.upgrade("head")
    user = "user" if database.backend == "mysql" else '"user"'
    database.execute(f"CREATE INDEX ix_user_handle ON {user} (email)")
    add_revision(
        blog,
        "6f6f6f6f6f6f",
        COMMENT,
        "op.add_column('user', sa.Column('handle', sa.String(50), nullable=True))\n"
        "op.create_index('ix_user_handle', 'user', ['handle'])\n"
        "op.create_table('tag', sa.Column('id', sa.Integer, primary_key=True))",
        message="add handle",
    )

    result = blog.migdoctor("upgrade", "--no-preflight")

    assert result.exit_code == 1, result
    output = " ".join(result.stdout.split())
    assert "✗ Revision 6f6f6f6f6f6f (add handle) failed" in output
    assert database.version_rows() == [COMMENT]
    made = "create index ix_user_handle on user (handle)"
    if database.backend in ("mysql", "sqlite"):
        assert "Of revision 6f6f6f6f6f6f, in the schema: add column user.handle." in output
        assert f"Not in the schema: {made}; create table tag (id)." in output
        assert "handle" in database.column_names("user")
    else:
        assert "None of revision 6f6f6f6f6f6f's operations is in the schema." in output
    assert made not in output.split("Not in the schema:")[0]


def test_the_read_back_of_an_index_made_before_the_failure(
    blog: Project, database: Database
) -> None:
    """The index the revision made before it failed is in the schema, on its columns (one on
    a sorted column is read back without its order: its name is taken as it); on
    MySQL/MariaDB a unique constraint is a unique index, read back the same way."""
    blog.upgrade("head")
    unique = (
        "op.create_unique_constraint('uq_user_email', 'user', ['email'])\n"
        if database.backend == "mysql"
        else ""
    )
    add_revision(
        blog,
        "6f6f6f6f6f6f",
        COMMENT,
        "op.add_column('user', sa.Column('handle', sa.String(50), nullable=True))\n"
        f"op.create_index('ix_user_handle', 'user', ['handle'], unique=True)\n"
        "op.create_index('ix_user_email_desc', 'user', [sa.text('email DESC')])\n"
        f"{unique}op.create_index('ix_missing', 'no_such_table', ['name'])",
        message="add handle",
    )

    result = blog.migdoctor("upgrade")

    assert result.exit_code == 1, result
    output = " ".join(result.stdout.split())
    assert database.version_rows() == [COMMENT]
    if database.backend == "postgresql":
        assert "None of revision 6f6f6f6f6f6f's operations is in the schema." in output
        return
    in_schema = (
        "add column user.handle; create index ix_user_handle on user (handle); "
        "create index ix_user_email_desc on user (email DESC)"
    )
    if database.backend == "mysql":
        in_schema += "; create unique constraint uq_user_email on user"
    assert f"Of revision 6f6f6f6f6f6f, in the schema: {in_schema}." in output
    assert "Not in the schema: create index ix_missing on no_such_table (name)." in output


# microblog (github.com/miguelgrinberg/microblog), revision f7ac3d27bb1d: on MariaDB its
# downgrade() fails on its first statement (an index a foreign key needs); the read-back said
# the revision was in the schema and sent the user to check for a half applied upgrade
def test_a_downgrade_that_fails_before_changing_anything_says_so(
    blog: Project, database: Database
) -> None:
    add_revision(
        blog,
        "6f6f6f6f6f6f",
        COMMENT,
        "op.create_table('tag', sa.Column('id', sa.Integer, primary_key=True))",
        downgrade="op.drop_index('ix_missing', table_name='tag')\nop.drop_table('tag')",
        message="create tag",
    )
    blog.upgrade("head")

    result = blog.migdoctor("downgrade", COMMENT)

    assert result.exit_code == 1, result
    assert "✗ Revision 6f6f6f6f6f6f (create tag) failed" in result.stdout
    assert "Nothing of the downgrade took effect" in result.stdout
    assert "half applied" not in result.stdout
    assert "partial-migration" not in result.stdout
    assert database.version_rows() == ["6f6f6f6f6f6f"]


@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_lock_timeout_names_the_blocking_session(tmp_path: Path, server_database: Database) -> None:
    project = blog_with_bio(tmp_path, server_database)
    blocker, session = hold_user_table(server_database)
    try:
        _, report = project.check_json()
        started = time.monotonic()
        result = project.migdoctor("upgrade", "--lock-timeout", "5")
        waited = time.monotonic() - started
    finally:
        blocker.close()

    contention = finding(report, "lock-contention")
    assert session in [s["session"] for s in contention["evidence"]["sessions"]]
    assert contention["fixes"][0]["command"].endswith(f"fix end-session --session {session}")
    assert result.exit_code == 1, result
    assert waited < 30
    assert "✗ Revision 4d5e6f708192 (add bio) failed: waited too long for a lock" in result.stdout
    # said before the wait, not only after it (JupyterHub's upgrade sat silent behind a psql
    # console the preflight had found)
    notice = result.stdout.index("This upgrade will wait up to 5s (--lock-timeout) for them")
    assert notice < result.stdout.index("failed: waited too long"), result
    assert f"session {session}" in result.stdout[:notice]
    assert f"in the way: session {session}" in result.stdout
    assert f"migdoctor fix end-session --session {session}" in result.stdout
    assert server_database.version_rows() == [COMMENT]
    assert "bio" not in server_database.column_names("user")
    # once the other session is gone the same command goes through
    done = project.migdoctor("upgrade", "--lock-timeout", "5")
    assert done.exit_code == 0, done
    assert server_database.version_rows() == [BIO]


def test_two_upgrades_at_once_run_one_after_the_other(blog: Project, database: Database) -> None:
    blog.upgrade("head")
    database.execute("CREATE TABLE upgrade_log (id INTEGER)")
    add_revision(
        blog,
        "7a7a7a7a7a7a",
        COMMENT,
        "time.sleep(3)\nop.execute('INSERT INTO upgrade_log (id) VALUES (1)')",
        message="slow data migration",
        imports="import time",
    )
    command = [*migdoctor_command(), "upgrade", "--lock-timeout", "60"]
    environment = {**os.environ, "COLUMNS": "200"}
    first = subprocess.Popen(
        command,
        cwd=blog.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    time.sleep(1.0)
    second = subprocess.Popen(
        command,
        cwd=blog.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    outputs = [process.communicate(timeout=120) for process in (first, second)]

    assert first.returncode == 0 and second.returncode == 0, outputs
    assert database.scalars("SELECT COUNT(*) FROM upgrade_log") == [1]
    assert database.version_rows() == ["7a7a7a7a7a7a"]
    # whichever took the lock first (on a loaded machine, not always the first started) ran it;
    # the other waited, then found nothing to do
    ran = [output for output, _ in outputs if "Upgraded 1 revision" in output]
    waited = [output for output, _ in outputs if "Nothing to upgrade" in output]
    assert len(ran) == 1 and len(waited) == 1, outputs
    assert "Waiting for the migration lock" in waited[0]


@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_on_a_terminal_the_blocker_is_ended_only_with_consent(
    tmp_path: Path, server_database: Database
) -> None:
    from tests.helpers import run_in_terminal

    project = blog_with_bio(tmp_path, server_database)
    blocker, session = hold_user_table(server_database)
    command = [*migdoctor_command(), "upgrade", "--lock-timeout", "3"]
    try:
        declined = run_in_terminal(command, project.root)  # Enter: the default is no
        rows_after_declining = server_database.version_rows()
        accepted = run_in_terminal(command, project.root, answers=["y"])
    finally:
        # its server session was ended: closing reports that
        with contextlib.suppress(Exception):
            blocker.close()

    assert declined.exit_code == 1, declined
    assert "End the session(s) in the way and try again? [y/n] (n)" in declined.stdout
    assert rows_after_declining == [COMMENT]
    assert accepted.exit_code == 0, accepted
    assert f"Ends session {session}" in accepted.stdout
    assert "Upgraded 1 revision" in accepted.stdout
    assert server_database.version_rows() == [BIO]


def test_a_revision_failing_on_its_seed_data_after_its_tables(
    blog: Project, database: Database
) -> None:
    # PowerDNS-Admin (github.com/ngoduykhanh/PowerDNS-Admin), revision 787bdba9e147: it
    # creates its tables, then seeds them, and one seed row is keyed by the builtin id (which
    # SQLAlchemy 2 refuses). The tables stay where DDL is not rolled back; the upgrade sent the
    # user to partial-migration, and check offered a stamp that said nothing of the seed.
    blog.upgrade("head")
    add_revision(
        blog,
        "5e5e5e5e5e5e",
        COMMENT,
        "role = op.create_table('role', sa.Column('id', sa.Integer, primary_key=True),"
        " sa.Column('name', sa.String(20)))\n"
        "op.bulk_insert(role, [{'id': 1, 'name': 'admin'}])\n"
        "op.bulk_insert(role, [{id: 2, 'name': 'user'}])",
    )

    result = blog.migdoctor("upgrade")

    assert result.exit_code == 1, result
    if database.backend == "postgresql":  # rolled back whole: nothing to say about it
        assert "role" not in database.table_names()
        return
    assert "All of 5e5e5e5e5e5e's schema changes are in place" in result.stdout, result
    assert "(partial-migration) diagnoses" not in result.stdout
    checked = blog.migdoctor("check")
    assert "migdoctor fix stamp --revision 5e5e5e5e5e5e" in checked.stdout, checked
    assert "5e5e5e5e5e5e: bulk insert on role" in " ".join(checked.stdout.split())
    plan = blog.migdoctor("fix", "stamp", "--revision", "5e5e5e5e5e5e", "--dry-run")
    assert "also change data, which no schema shows and the stamp skips" in plan.stdout, plan
