"""The risk a report shows for a fix is the fix's own: a check offering a fix gives it the RISK
of the fix's module, which is what ``migdoctor fix`` plans and journals with.

Each scenario puts the blog into a broken state, runs ``migdoctor check --format json`` and
compares every fix offered with its module; together they offer every fix there is (a new fix
without a scenario here fails ``test_every_fix_is_offered_by_a_scenario``). The risk does not
depend on the database, so SQLite is enough, but for end-session: only a server has sessions."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest

from migdoctor.fixes import FIX_MODULES, fix_module
from tests.conftest import Database
from tests.helpers import (
    ARTICLE,
    COMMENT_FILE,
    USER,
    Project,
    add_revision,
    add_tag_revision,
    blog_with_bio,
    copy_project,
    create_article_outside_migrations,
    git,
    git_repository,
    hold_user_table,
    leave_an_invalid_index,
    overlay,
    unwire_target_metadata,
)
from tests.helpers import behind_a_squash as behind_a_squash_helper

# a scenario makes its project and the state of the database, and returns the project and the
# arguments of its check (it may keep what it holds open on the stack until the check has run)
Made = tuple[Project, tuple[str, ...]]
Scenario = Callable[[Path, Database, ExitStack], Made]


def blog_on(tmp_path: Path, database: Database) -> Project:
    return copy_project("blog", tmp_path / "project", database)


def behind(tmp_path: Path, database: Database, stack: ExitStack) -> Made:
    blog = blog_on(tmp_path, database)
    blog.upgrade(USER)
    return blog, ()


def table_made_by_hand(tmp_path: Path, database: Database, stack: ExitStack) -> Made:
    blog = blog_on(tmp_path, database)
    blog.upgrade(USER)
    create_article_outside_migrations(database)
    return blog, ()


def unknown_revision(tmp_path: Path, database: Database, stack: ExitStack) -> Made:
    blog = blog_on(tmp_path, database)
    blog.upgrade(ARTICLE)
    database.execute("UPDATE alembic_version SET version_num = '77525ee61b5b'")
    return blog, ()


def deleted_in_git(tmp_path: Path, database: Database, stack: ExitStack) -> Made:
    blog = blog_on(tmp_path, database)
    git_repository(blog)
    blog.upgrade("head")
    git(blog, "rm", "-q", COMMENT_FILE)
    git(blog, "commit", "-q", "-m", "remove the comment migration")
    return blog, ()


def overlapping_rows(tmp_path: Path, database: Database, stack: ExitStack) -> Made:
    blog = blog_on(tmp_path, database)
    blog.upgrade(ARTICLE)
    database.execute(f"INSERT INTO alembic_version (version_num) VALUES ('{USER}')")
    return blog, ()


def half_applied(tmp_path: Path, database: Database, stack: ExitStack) -> Made:
    blog = blog_on(tmp_path, database)
    blog.upgrade("head")
    overlay(blog, "blog_tags")  # a revision creating the tag table and its index
    database.execute(
        "CREATE TABLE tag (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50) NOT NULL)"
    )
    return blog, ()


def drifted(tmp_path: Path, database: Database, stack: ExitStack) -> Made:
    blog = blog_on(tmp_path, database)
    blog.upgrade("head")
    database.execute("CREATE TABLE legacy (id INTEGER PRIMARY KEY)")
    return blog, ()


def models_not_wired(tmp_path: Path, database: Database, stack: ExitStack) -> Made:
    blog = blog_on(tmp_path, database)
    unwire_target_metadata(blog)
    blog.upgrade("head")
    return blog, ()


def two_heads(tmp_path: Path, database: Database, stack: ExitStack) -> Made:
    blog = blog_on(tmp_path, database)
    add_tag_revision(blog, down_revision=ARTICLE)
    return blog, ("--offline",)


def two_initial_revisions(tmp_path: Path, database: Database, stack: ExitStack) -> Made:
    blog = blog_on(tmp_path, database)
    add_revision(
        blog,
        "aaaa00000001",
        None,
        "op.create_table('user', sa.Column('id', sa.Integer(), primary_key=True))",
        message="initial",
    )
    return blog, ("--offline",)


def duplicated_id(tmp_path: Path, database: Database, stack: ExitStack) -> Made:
    blog = blog_on(tmp_path, database)
    add_tag_revision(blog, down_revision=USER, revision=ARTICLE)
    return blog, ("--offline",)


def missing_parent(tmp_path: Path, database: Database, stack: ExitStack) -> Made:
    blog = blog_on(tmp_path, database)
    add_tag_revision(blog, down_revision="0000deadbeef")
    return blog, ("--offline",)


def session_in_the_way(tmp_path: Path, database: Database, stack: ExitStack) -> Made:
    blog = blog_with_bio(tmp_path, database)  # at the head, a revision altering "user" pending
    blocker, _ = hold_user_table(database)
    stack.callback(blocker.close)
    return blog, ()


def started_over(tmp_path: Path, database: Database, stack: ExitStack) -> Made:
    blog = blog_on(tmp_path, database)
    blog.upgrade("head")
    for path in blog.versions.glob("*.py"):
        path.unlink()
    database.execute("DROP TABLE alembic_version")
    return blog, ()


def behind_a_squash(tmp_path: Path, database: Database, stack: ExitStack) -> Made:
    return behind_a_squash_helper(tmp_path, database), ()


# scenario -> the fixes it is here to show offered
def index_left_invalid(tmp_path: Path, database: Database, stack: ExitStack) -> Made:
    blog = blog_on(tmp_path, database)
    blog.upgrade("head")
    leave_an_invalid_index(database)
    return blog, ()


SCENARIOS: dict[Scenario, set[str]] = {
    behind: {"upgrade"},
    table_made_by_hand: {"stamp", "neuter-upgrade"},
    unknown_revision: {"stamp", "clear-version-table"},
    deleted_in_git: {"restore-revision"},
    overlapping_rows: {"delete-ancestor-rows", "stamp"},
    half_applied: {"complete-revision", "stamp", "neuter-upgrade"},
    drifted: {"autogenerate-revision"},
    two_heads: {"merge-heads", "rebase-heads"},
    two_initial_revisions: {"merge-heads", "rebase-heads", "archive-branch"},
    duplicated_id: {"renumber-revision"},
    missing_parent: {"reparent-revision"},
    models_not_wired: {"wire-target-metadata"},
    session_in_the_way: {"end-session"},
    started_over: {"baseline"},
    behind_a_squash: {"upgrade-archived"},
    index_left_invalid: {"drop-invalid-indexes"},
}
ON_A_SERVER = (session_in_the_way,)
ON_POSTGRESQL = (index_left_invalid,)


CASES = [
    pytest.param(scenario, backend, id=f"{scenario.__name__}-{backend}")
    for scenario in SCENARIOS
    for backend in (
        ("mysql", "postgresql")
        if scenario in ON_A_SERVER
        else ("postgresql",)
        if scenario in ON_POSTGRESQL
        else ("sqlite",)
    )
]


@pytest.mark.parametrize(("scenario", "database"), CASES, indirect=["database"])
def test_every_fix_offered_shows_its_module_s_risk(
    tmp_path: Path, database: Database, scenario: Scenario
) -> None:
    with ExitStack() as stack:
        project, arguments = scenario(tmp_path, database, stack)
        _, document = project.check_json(*arguments)

    offered = [(fix["id"], fix["risk"]) for f in document["findings"] for fix in f["fixes"]]
    assert SCENARIOS[scenario] <= {fix_id for fix_id, _ in offered}, document["findings"]
    for fix_id, risk in offered:
        assert risk == fix_module(fix_id).RISK.value, f"{fix_id} shown as {risk}"


def test_every_fix_is_offered_by_a_scenario() -> None:
    assert set().union(*SCENARIOS.values()) == set(FIX_MODULES)
