"""The merge-heads fix: writes one merge revision over the heads, and undo deletes it (scripts only,
through the installed CLI)."""

from __future__ import annotations

from tests.helpers import (
    USER,
    Project,
)


def test_merge_heads_and_undo(blog_offline: Project) -> None:
    created = blog_offline.migdoctor(
        "revision", "-m", "side", "--rev-id", "5e5e5e5e5e5e", "--head", USER, "--splice"
    )
    assert created.exit_code == 0, created
    before = sorted(p.name for p in blog_offline.versions.glob("*.py"))

    merged = blog_offline.migdoctor("fix", "merge-heads", "--yes")

    assert merged.exit_code == 0, merged
    heads = blog_offline.migdoctor("heads").stdout.strip().splitlines()
    assert len(heads) == 1 and "(head)" in heads[0]
    assert len(list(blog_offline.versions.glob("*merge_heads.py"))) == 1
    assert blog_offline.migdoctor("undo", "--yes").exit_code == 0
    assert sorted(p.name for p in blog_offline.versions.glob("*.py")) == before
