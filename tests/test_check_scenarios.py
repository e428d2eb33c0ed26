"""The three classic failures, put into a real database on every backend and diagnosed through
the installed CLI, as a user meets them."""

from __future__ import annotations

from tests.conftest import Database
from tests.helpers import (
    Project,
    checks_found,
    create_article_outside_migrations,
    finding,
    load_module_from,
)

USER, ARTICLE, COMMENT = "1a2b3c4d5e6f", "2b3c4d5e6f70", "3c4d5e6f7081"


def test_healthy_database_at_head_exits_0(blog: Project) -> None:
    blog.upgrade("head")

    result = blog.migdoctor("check")

    assert result.exit_code == 0, result
    assert "No problems found." in result.stdout
    assert "✓ stale-current" in result.stdout
    code, document = blog.check_json()
    assert code == 0
    assert document["findings"] == []
    assert document["database"]["current"] == [COMMENT]
    assert document["project"]["heads"] == [COMMENT]
    assert document["summary"] == {"errors": 0, "warnings": 0, "infos": 0}


def test_database_behind_head_is_stale_current(blog: Project) -> None:
    blog.upgrade(USER)

    code, document = blog.check_json()

    assert code == 1
    assert checks_found(document) == {"stale-current"}
    stale = finding(document, "stale-current")
    assert stale["code"] == "MD101"
    assert stale["severity"] == "error"
    assert stale["evidence"]["current"] == [USER]
    assert stale["evidence"]["heads"] == [COMMENT]
    assert [(p["revision"], p["message"]) for p in stale["evidence"]["pending"]] == [
        (ARTICLE, "create article table"),
        (COMMENT, "add comment table"),
    ]
    assert [fix["id"] for fix in stale["fixes"]] == ["upgrade"]
    assert stale["fixes"][0]["command"] == "migdoctor fix upgrade"


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


def test_table_created_by_hand_is_table_exists(blog: Project, database: Database) -> None:
    blog.upgrade(USER)
    create_article_outside_migrations(database)

    result = blog.migdoctor("check")
    _, document = blog.check_json()

    assert result.exit_code == 1
    assert "A pending revision creates a table that already exists" in result.stdout
    assert checks_found(document) == {"table-exists", "stale-current"}
    exists = finding(document, "table-exists")
    assert exists["code"] == "MD103"
    assert exists["evidence"]["revision"] == ARTICLE
    assert exists["evidence"]["tables"] == ["article"]
    assert exists["evidence"]["situation"] == "behind"
    assert exists["evidence"]["conflicts"][0]["operations_read"] == "recorded"
    assert exists["evidence"]["verified_applied"] == ARTICLE
    assert [fix["id"] for fix in exists["fixes"]] == ["stamp", "neuter-upgrade"]
    assert exists["fixes"][0]["command"] == f"migdoctor fix stamp --revision {ARTICLE}"
    # the upgrade would fail, so stale-current does not offer it
    assert finding(document, "stale-current")["fixes"] == []


def test_table_without_the_foreign_key_is_not_stamped(blog: Project, database: Database) -> None:
    """Names alone would say the table is the revision's; alembic's comparison sees the
    foreign key the revision creates and the hand-made table lacks."""
    blog.upgrade(USER)
    create_article_outside_migrations(database, foreign_key=False)

    _, document = blog.check_json()

    exists = finding(document, "table-exists")
    assert exists["evidence"]["verified_applied"] is None
    assert [fix["id"] for fix in exists["fixes"]] == ["neuter-upgrade"]
    closest = exists["evidence"]["schema_closest"][0]
    assert closest["revision"] == ARTICLE
    assert any("foreign key" in words for words in closest["differences"])
    assert "no stamp is offered" in exists["message"]
    refused = blog.migdoctor("fix", "stamp", "--revision", ARTICLE, "--yes")
    assert refused.exit_code == 1, refused
    assert "foreign key" in refused.output
    assert database.version_rows() == [USER]


def test_table_with_other_columns_is_not_stamped_blindly(blog: Project, database: Database) -> None:
    blog.upgrade(USER)
    database.execute("CREATE TABLE article (id INTEGER PRIMARY KEY, headline VARCHAR(10))")

    _, document = blog.check_json()

    exists = finding(document, "table-exists")
    conflict = exists["evidence"]["conflicts"][0]["tables"][0]
    assert set(conflict["missing_columns"]) == {"title", "body", "user_id", "created_at"}
    assert conflict["extra_columns"] == ["headline"]
    assert exists["evidence"]["verified_applied"] is None
    assert [fix["id"] for fix in exists["fixes"]] == ["neuter-upgrade"]
    assert "lacks column(s)" in exists["message"]


def test_emptied_version_table_with_tables_left(blog: Project, database: Database) -> None:
    blog.upgrade("head")
    database.execute("DELETE FROM alembic_version")

    code, document = blog.check_json()

    assert code == 1
    exists = finding(document, "table-exists")
    assert exists["evidence"]["situation"] == "empty-version-table"
    assert exists["evidence"]["revision"] == USER
    assert exists["evidence"]["tables"] == ["user"]
    assert [c["revision"] for c in exists["evidence"]["conflicts"]] == [USER, ARTICLE, COMMENT]
    assert exists["evidence"]["verified_applied"] == COMMENT
    assert exists["fixes"][0]["command"] == f"migdoctor fix stamp --revision {COMMENT}"
    assert "empty" in exists["message"]


def test_tables_from_create_all_without_version_table(blog: Project, database: Database) -> None:
    # the application created its tables itself (Base.metadata.create_all), alembic never ran
    models = load_module_from(blog.root / "models.py")
    engine = database.engine()
    models.Base.metadata.create_all(engine)
    engine.dispose()

    code, document = blog.check_json()

    assert code == 1
    exists = finding(document, "table-exists")
    assert exists["evidence"]["situation"] == "no-version-table"
    assert "no alembic_version table" in exists["message"]
    assert exists["evidence"]["verified_applied"] == COMMENT
    assert document["database"]["current"] == []


def test_fresh_empty_database_is_only_behind(blog: Project, database: Database) -> None:
    if database.backend == "sqlite":
        database.execute("CREATE TABLE placeholder (id INTEGER)")
        database.execute("DROP TABLE placeholder")

    code, document = blog.check_json()

    assert code == 1
    assert checks_found(document) == {"stale-current"}
    stale = finding(document, "stale-current")
    assert [p["revision"] for p in stale["evidence"]["pending"]] == [USER, ARTICLE, COMMENT]


def test_env_py_without_models_is_no_target_metadata(blog: Project, database: Database) -> None:
    blog.upgrade("head")
    env = blog.root / "alembic" / "env.py"
    original = env.read_text()
    configure_line = original.splitlines().index("        context.configure(") + 1
    env.write_text(
        original.replace("target_metadata = models.Base.metadata", "target_metadata = None")
    )

    code, document = blog.check_json()

    assert code == 0
    assert checks_found(document) == {"no-target-metadata"}
    none_passed = finding(document, "no-target-metadata")
    assert (none_passed["code"], none_passed["severity"]) == ("MD301", "info")
    assert none_passed["evidence"]["target_metadata"] == "None"
    assert none_passed["evidence"]["configured_at"] == f"alembic/env.py:{configure_line}"

    # the classic mistake: Base is imported, the modules declaring the models are not
    (blog.root / "db.py").write_text(
        "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n"
    )
    env.write_text(
        original.replace("import models  # noqa: E402", "import db  # noqa: E402").replace(
            "target_metadata = models.Base.metadata", "target_metadata = db.Base.metadata"
        )
    )

    result = blog.migdoctor("check")
    code, document = blog.check_json()

    assert result.exit_code == 0, result
    assert "target_metadata holds no tables (models never imported?)" in result.stdout
    empty = finding(document, "no-target-metadata")
    assert empty["severity"] == "warning"
    assert empty["evidence"]["target_metadata"] == "MetaData"
    assert empty["evidence"]["tables_in_metadata"] == []
    assert empty["evidence"]["tables_in_database"] == 3
    assert "drops all 3 tables" in empty["message"]
