"""Healthy projects raise no finding but the ones they should (the labeled heads of expand/contract,
as info): the blog at its head, the expand/contract project at its heads, and the demo project, each
on a real database through the installed CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import Database
from tests.helpers import COMMENT, Project, checks_found, copy_project


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


def test_expand_contract_at_its_heads_raises_none_of_these_checks(
    tmp_path: Path, database: Database
) -> None:
    warehouse = copy_project("expand_contract", tmp_path / "warehouse", database)
    assert warehouse.migdoctor("upgrade", "heads").exit_code == 0

    _, document = warehouse.check_json()

    # the two labeled heads are reported as info, by design; nothing else
    assert checks_found(document) == {"multiple-heads"}


def test_demo_project_at_its_head_is_healthy(tmp_path: Path) -> None:
    import migdoctor

    template = Path(migdoctor.__file__).parent / "demo_project"
    shutil.copytree(template, tmp_path / "library", ignore=shutil.ignore_patterns("__pycache__"))
    library = Project(tmp_path / "library", None)
    library.upgrade("head")

    code, document = library.check_json()

    assert (code, document["findings"]) == (0, [])
