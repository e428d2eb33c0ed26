"""placeholder-url: alembic's template sqlalchemy.url left in alembic.ini; diagnosed offline through
the installed CLI, on a copy of the blog fixture edited the way users break it."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import (
    checks_found,
    copy_project,
    finding,
)


def test_placeholder_url_is_reported_offline(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "blog", None)
    blog.set_url("driver://user:pass@localhost/dbname")

    result = blog.migdoctor("check", "--offline")
    code, document = blog.check_json("--offline")

    assert result.exit_code == 0, result
    assert "! placeholder-url" in result.stdout
    assert code == 0
    assert checks_found(document) == {"placeholder-url"}
    placeholder = finding(document, "placeholder-url")
    assert (placeholder["code"], placeholder["severity"]) == ("MD302", "warning")
    assert placeholder["evidence"] == {
        "config_file": "alembic.ini",
        "sqlalchemy_url": "driver://user:***@localhost/dbname",  # as every URL password
    }
    # a URL given on the command line replaces it
    _, document = blog.check_json("--offline", "--url", "sqlite:///elsewhere.db")
    assert document["findings"] == []
