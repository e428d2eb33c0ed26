"""The pre-commit hook (``.pre-commit-hooks.yaml``), run by the real ``pre-commit try-repo`` on a
fresh git repository holding a copy of a fixture project: it passes on the healthy project and
fails, showing the finding, once a second file declares a revision.

pre-commit builds the hook's environment by pip-installing this repository (its uncommitted
changes included), which takes a while and needs the package index: hence one test, healthy
then broken, in the same repository and with the same environment.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import COMMENT, COMMENT_FILE, REPOSITORY, copy_project, run


def test_hook_passes_on_a_healthy_project_then_fails_on_a_duplicate_revision(
    tmp_path: Path,
) -> None:
    project = copy_project("blog", tmp_path / "app", None)
    environment = {
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "migdoctor tests",
        "GIT_AUTHOR_EMAIL": "tests@example.invalid",
        "GIT_COMMITTER_NAME": "migdoctor tests",
        "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    }

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=project.root, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "blog")
    pre_commit = [str(Path(sys.executable).parent / "pre-commit"), "try-repo"]
    hook = [*pre_commit, str(REPOSITORY), "migdoctor", "--all-files", "--color", "never"]

    healthy = run(hook, project.root, env=environment, timeout=600)

    assert healthy.exit_code == 0, healthy
    assert any(
        line.startswith("migdoctor") and line.endswith("Passed")
        for line in healthy.stdout.splitlines()
    ), healthy

    copy = "alembic/versions/3c4d5e6f7081_zz_copy.py"
    shutil.copy(project.root / COMMENT_FILE, project.root / copy)
    git("add", copy)

    broken = run(hook, project.root, env=environment, timeout=600)

    assert broken.exit_code == 1, broken
    assert any(
        line.startswith("migdoctor") and line.endswith("Failed")
        for line in broken.stdout.splitlines()
    ), broken
    assert "- exit code: 1" in broken.stdout
    assert f"Revision {COMMENT} is declared by 2 files" in broken.stdout
    assert copy in broken.stdout
