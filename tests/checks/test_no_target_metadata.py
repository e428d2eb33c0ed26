"""no-target-metadata: an env.py that gives autogenerate no models, put into a real database on
every backend and diagnosed through the installed CLI."""

from __future__ import annotations

from tests.conftest import Database
from tests.helpers import (
    Project,
    checks_found,
    finding,
)


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
