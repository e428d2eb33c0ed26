"""What a command imports: SQLAlchemy and alembic only when the command needs them.

Importing the two costs about a third of a second, more than ``migdoctor --help`` or an offline
check of a small project takes altogether.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.helpers import copy_project, run

HEAVY = ("alembic", "sqlalchemy")

# runs the CLI in-process as the console script does, then tells what got imported
PROBE = """
import json, sys
sys.argv = ["migdoctor", *sys.argv[1:]]
from migdoctor.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
"""


def imported(cwd: Path, *arguments: str) -> set[str]:
    result = run([sys.executable, "-c", PROBE, *arguments], cwd)
    assert result.exit_code == 0, result
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


def test_help_imports_neither_sqlalchemy_nor_alembic_nor_rich(tmp_path: Path) -> None:
    modules = imported(tmp_path, "--help")

    assert not modules.intersection((*HEAVY, "rich"))


@pytest.mark.parametrize(
    "arguments",
    [
        ("check", "--offline"),
        ("check", "--offline", "--format", "json"),
        ("heads", "-v"),
        ("history", "-r", "1a2b3c4d5e6f:"),
    ],
    ids=" ".join,
)
def test_commands_on_scripts_only_import_neither(tmp_path: Path, arguments: tuple[str]) -> None:
    project = copy_project("blog", tmp_path / "blog", None)

    modules = imported(project.root, *arguments)

    assert not modules.intersection(HEAVY)
    assert "migdoctor" in modules
