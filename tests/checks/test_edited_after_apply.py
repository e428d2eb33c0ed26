"""edited-after-apply and migdoctor's ledger: revisions applied through migdoctor are recorded in
migdoctor_ledger; a file edited afterwards is reported with what changed, on every backend."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import (
    ARTICLE,
    ARTICLE_FILE,
    COMMENT,
    COMMENT_FILE,
    USER,
    Project,
    add_revision,
    checks_found,
    copy_project,
    edit,
    finding,
)

# a revision that only adds a column to a table the migration user owns
NICKNAME = "9a9a9a9a9a9a"


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
    # the stamp records every revision it marks applied, newest first
    assert [(e["revision"], e["direction"]) for e in log["entries"]] == [
        (COMMENT, "stamp"),
        (ARTICLE, "stamp"),
        (USER, "stamp"),
    ]
    edited = finding(document, "edited-after-apply")
    assert "when migdoctor stamp stamped it" in edited["message"]
    assert (edited["evidence"]["lines_added"], edited["evidence"]["lines_removed"]) == (1, 0)


@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_a_user_who_may_not_create_the_ledger_still_upgrades(
    tmp_path: Path, server_database: Database
) -> None:
    # the migration user owns the application's tables but may create none: the ledger is
    # never required, the upgrade goes on with one warning line
    from sqlalchemy.engine import make_url

    database = server_database
    blog = copy_project("blog", tmp_path / "project", database)
    blog.upgrade(ARTICLE)  # as the administrator, with alembic (no ledger)
    (blog.root / COMMENT_FILE).unlink()
    add_revision(blog, NICKNAME, ARTICLE, "op.add_column('user', sa.Column('nick', sa.String(40)))")
    role, password = f"md_{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    name = make_url(database.url).database
    tables = ("user", "article", "alembic_version")
    if database.backend == "postgresql":
        database.execute(
            f"CREATE ROLE {role} LOGIN PASSWORD '{password}'",
            f"GRANT CONNECT ON DATABASE {name} TO {role}",
            f"GRANT USAGE ON SCHEMA public TO {role}",
            f"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {role}",
            *(f'ALTER TABLE "{table}" OWNER TO {role}' for table in tables),
        )
        cleanup = (f"REASSIGN OWNED BY {role} TO CURRENT_USER", f"DROP OWNED BY {role}")
        drop = (f"DROP ROLE IF EXISTS {role}",)
    else:
        hosts = ("%", "localhost")
        privileges = "SELECT, INSERT, UPDATE, DELETE, ALTER, CREATE, DROP, INDEX, REFERENCES"
        database.execute(
            *(f"CREATE USER '{role}'@'{host}' IDENTIFIED BY '{password}'" for host in hosts),
            *(
                f"GRANT {privileges} ON `{name}`.`{table}` TO '{role}'@'{host}'"
                for table in tables
                for host in hosts
            ),
        )
        cleanup = ()
        drop = tuple(f"DROP USER IF EXISTS '{role}'@'{host}'" for host in hosts)
    try:
        as_role = make_url(database.url).set(username=role, password=password)
        url = as_role.render_as_string(hide_password=False)

        upgraded = blog.migdoctor("--url", url, "upgrade")

        assert upgraded.exit_code == 0, upgraded
        assert "could not create migdoctor_ledger" in upgraded.output
        assert "the run goes on without the ledger" in upgraded.output
        assert password not in upgraded.output
        assert database.version_rows() == [NICKNAME]
        assert "migdoctor_ledger" not in database.table_names()
        # a ledger the user may not even look for is no failure of the check
        checked = blog.migdoctor("--url", url, "check")
        assert checked.exit_code in (0, 1), checked
    finally:
        if cleanup:
            database.execute(*cleanup)
        from sqlalchemy import create_engine, text

        server = create_engine(
            make_url(database.url).set(database=None), isolation_level="AUTOCOMMIT"
        )
        with server.connect() as connection:
            for statement in drop:
                connection.execute(text(statement))
        server.dispose()


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_ledger_false_in_pyproject_keeps_no_ledger_beside_the_other_settings(
    blog: Project, database: Database
) -> None:
    # one [tool.migdoctor] table holds every setting of migdoctor's: the ledger's among them
    (blog.root / "pyproject.toml").write_text(
        '[tool.migdoctor]\nledger = false\nignore = ["destructive-operation"]\n'
        "large_table_rows = 5000\n"
    )

    upgraded = blog.migdoctor("upgrade")

    assert upgraded.exit_code == 0, upgraded
    assert "migdoctor_ledger" not in database.table_names()
    code, document = blog.check_json()
    assert code == 0, document
    (blog.root / "pyproject.toml").write_text("[tool.migdoctor]\nledger = 'sometimes'\n")
    wrong = blog.migdoctor("check")
    assert wrong.exit_code == 2
    assert (
        "ledger in [tool.migdoctor] of" in wrong.stderr and "must be true or false" in wrong.stderr
    )
