"""unknown-revision: a version table naming a revision no script defines, put into a real database
on every backend and diagnosed through the installed CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import (
    APP_TABLES_AT_HEAD,
    ARTICLE,
    COMMENT,
    TAG,
    TAG_FILE,
    Project,
    add_tag_revision,
    app_created_tables_history,
    checks_found,
    finding,
    git,
    git_repository,
)

ON_SQLITE = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def test_unknown_revision_is_named_where_alembic_crashes(blog: Project, database: Database) -> None:
    blog.upgrade("head")
    database.execute("UPDATE alembic_version SET version_num = '77525ee61b5b'")
    alembic = blog.alembic("current")
    assert "Can't locate revision identified by '77525ee61b5b'" in alembic.output

    result = blog.migdoctor("check")
    code, document = blog.check_json()

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "77525ee61b5b" in result.stdout
    assert code == 1
    assert checks_found(document) == {"unknown-revision"}
    unknown = finding(document, "unknown-revision")
    assert unknown["evidence"]["unknown"] == ["77525ee61b5b"]
    assert unknown["evidence"]["heads"] == [COMMENT]
    # every table of the history exists: the whole history is the safe stamp target
    assert unknown["evidence"]["stamp_candidates"] == [COMMENT]
    assert [fix["id"] for fix in unknown["fixes"]] == ["stamp", "clear-version-table"]
    assert unknown["fixes"][0]["command"] == f"migdoctor fix stamp --revision {COMMENT}"

    current = blog.migdoctor("current")
    assert current.exit_code == 0, current
    assert "77525ee61b5b (unknown" in current.stdout
    assert "Traceback" not in current.output


def test_unknown_revision_suggests_the_id_it_looks_like(blog: Project, database: Database) -> None:
    blog.upgrade(ARTICLE)
    database.execute("UPDATE alembic_version SET version_num = '2b3c4d5e6f71'")

    _, document = blog.check_json()

    unknown = finding(document, "unknown-revision")
    assert unknown["evidence"]["similar"] == {"2b3c4d5e6f71": [ARTICLE]}
    assert unknown["evidence"]["stamp_candidates"] == [ARTICLE]
    assert "looks like 2b3c4d5e6f70" in unknown["message"]


# the database-facing scenario on every backend; the others differ only on the git side
def test_a_revision_only_on_another_branch_is_named_ahead_of_this_checkout(
    blog: Project, database: Database
) -> None:
    git_repository(blog)
    git(blog, "checkout", "-q", "-b", "feature/tags")
    add_tag_revision(blog, down_revision=COMMENT)
    git(blog, "add", TAG_FILE)
    git(blog, "commit", "-q", "-m", "add the tag table")
    on_branch = git(blog, "rev-parse", "--short", "HEAD")
    blog.upgrade("head")  # the database is migrated by the branch's code
    git(blog, "checkout", "-q", "main")
    assert not (blog.root / TAG_FILE).exists()

    _, document = blog.check_json()

    unknown = finding(document, "unknown-revision")
    found = unknown["evidence"]["git"]["revisions"][TAG]
    assert (found["status"], found["path"], found["refs"]) == ("ahead", TAG_FILE, ["feature/tags"])
    assert found["source"]["sha"] == on_branch
    assert f"on branch feature/tags, in commit {on_branch}" in unknown["message"]
    assert "the database was migrated by newer code" in unknown["message"]
    assert "git checkout feature/tags" in unknown["message"]
    # a stamp back to the comment revision is offered (the schema matches it, the tag table
    # aside), but neither first nor recommended
    offered = [fix["id"] for fix in unknown["fixes"]]
    assert "stamp" in offered and offered[0] != "stamp"
    assert not any(fix["recommended"] for fix in unknown["fixes"] if fix["id"] == "stamp")
    assert unknown["fixes"][0]["recommended"] is False


def test_an_id_no_commit_ever_had_is_said_never_to_have_been_in_the_repository(
    blog: Project, database: Database
) -> None:
    git_repository(blog)
    blog.upgrade("head")
    database.execute("UPDATE alembic_version SET version_num = '77525ee61b5b'")

    _, document = blog.check_json()

    unknown = finding(document, "unknown-revision")
    assert unknown["evidence"]["git"]["revisions"]["77525ee61b5b"]["status"] == "never"
    assert "it was never in this repository" in unknown["message"]
    assert "restore-revision" not in [fix["id"] for fix in unknown["fixes"]]


@ON_SQLITE
def test_outside_git_or_without_git_it_says_so_in_one_line(
    blog: Project, database: Database, tmp_path: Path
) -> None:
    blog.upgrade("head")
    database.execute("UPDATE alembic_version SET version_num = '77525ee61b5b'")

    _, outside = blog.check_json()
    git_repository(blog)
    without_git = blog.migdoctor(
        "check", "--format", "json", env={"PATH": str(tmp_path / "no-programs")}
    )

    unknown = finding(outside, "unknown-revision")
    assert unknown["evidence"]["git"]["unavailable"] == (
        f"{blog.root / 'alembic'} is not in a git repository"
    )
    assert "git could not be asked where 77525ee61b5b went: " in unknown["message"]
    assert "Traceback" not in without_git.output
    unknown = finding(without_git.json(), "unknown-revision")
    assert unknown["evidence"]["git"]["unavailable"] == (
        "the git executable is not installed (not on PATH)"
    )


def test_a_stamp_is_verified_by_the_net_changes_to_tables_the_history_never_creates(
    blog: Project, database: Database
) -> None:
    # JupyterHub (jupyterhub/jupyterhub): every table is made by the application, a revision
    # adds a column a later one drops; the schema at head was taken for none, as the column the
    # earlier revision adds is (rightly) gone
    app_created_tables_history(blog)
    database.execute(
        *APP_TABLES_AT_HEAD,
    )
    assert blog.alembic("stamp", "a5nonick").exit_code == 0
    database.execute("UPDATE alembic_version SET version_num = '77525ee61b5b'")

    _, document = blog.check_json()

    unknown = finding(document, "unknown-revision")
    assert "exactly the schema at revision a5nonick" in unknown["message"], unknown
    stamps = [fix["command"] for fix in unknown["fixes"] if fix["id"] == "stamp"]
    assert stamps == ["migdoctor fix stamp --revision a5nonick"], unknown["fixes"]
    # the revisions before it match only by leaving member and article out: a4bio's bio is
    # there, a5nonick's drop is done
    schema = document["database"]["schema"]
    assert (schema["matches"], schema["unverified_matches"]) == (
        ["a5nonick"],
        ["a4bio", "a3summary"],
    ), schema
