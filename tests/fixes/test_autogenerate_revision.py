"""The autogenerate-revision fix: it writes a revision and is undone in
tests/checks/test_schema_drift.py (and inside a Flask application in test_user_errors.py); here,
it refuses when the live schema matches the models, writing nothing; through the installed CLI on
every backend."""

from __future__ import annotations

from tests.conftest import Database
from tests.helpers import Project, journal


def test_autogenerate_revision_refuses_when_the_schema_matches_the_models(
    blog: Project, database: Database
) -> None:
    blog.upgrade("head")
    before = sorted(p.name for p in blog.versions.glob("*.py"))

    refused = blog.migdoctor("fix", "autogenerate-revision", "--yes")

    assert refused.exit_code == 1, refused
    assert "The live schema matches the models: nothing to write." in refused.stdout
    assert sorted(p.name for p in blog.versions.glob("*.py")) == before
    assert journal(blog) == []
