"""unknown-revision: a version table naming a revision no script defines, put into a real database
on every backend and diagnosed through the installed CLI."""

from __future__ import annotations

from tests.conftest import Database
from tests.helpers import (
    ARTICLE,
    COMMENT,
    Project,
    checks_found,
    finding,
)


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
