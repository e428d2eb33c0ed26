"""Headers of real histories that are not all literal: each field read as alembic reads it, and
one field the text does not tell never hides the literal ones (issue 13, "Real histories")."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from migdoctor.gathering.gather import load_project
from migdoctor.project.config import ConfigOptions
from migdoctor.project.scripts import RevisionScript, read_revision_file
from tests.helpers import FIXTURES, finding, migdoctor_command, run

INI = Path("netproj/db/migration/alembic.ini")
VERSIONS = Path("netproj/db/migration/alembic_migrations/versions")
EXPAND_FIRST = VERSIONS / "expand/1a2b3c4d5e6f_add_port_table.py"


@pytest.fixture
def neutron_style(tmp_path: Path) -> Path:
    """The computed_labels fixture: expand/contract branches labelled from the project's
    constants, as OpenStack Neutron and its plugins write them."""
    root = tmp_path / "netproj"
    shutil.copytree(FIXTURES / "computed_labels", root)
    return root


def alembic_heads(root: Path) -> list[str]:
    """``alembic heads`` as alembic itself prints it (it imports every file)."""
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(root / INI), "heads"],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    )
    return sorted(result.stdout.split("\n")[:-1])


def migdoctor(root: Path, *args: str) -> tuple[int, str, str]:
    result = run([*migdoctor_command(), "-c", str(root / INI), *args], cwd=root)
    return result.exit_code, result.stdout, result.stderr


def test_labels_from_the_projects_constants_are_read_without_importing(
    neutron_style: Path,
) -> None:
    project = load_project(ConfigOptions(config=(str(neutron_style / INI),)))

    scripts = {script.revision: script for script in project.scripts}
    assert scripts["1a2b3c4d5e6f"].branch_labels == ("expand",)
    assert scripts["3c4d5e6f7a8b"].branch_labels == ("contract",)
    assert scripts["4d5e6f7a8b9c"].depends_on == ("2b3c4d5e6f7a",)
    # from the constants' module's text: no file was imported to read them
    assert {script.read_by for script in scripts.values()} == {"ast"}
    assert all(not script.unresolved for script in scripts.values())


def test_heads_and_labels_equal_alembics(neutron_style: Path) -> None:
    expected = alembic_heads(neutron_style)
    assert expected == [
        "2b3c4d5e6f7a (expand) (effective head)",
        "4d5e6f7a8b9c (contract) (head)",
    ]

    code, stdout, _ = migdoctor(neutron_style, "heads")

    assert code == 0
    assert sorted(stdout.split("\n")[:-1]) == expected
    code, stdout, _ = migdoctor(neutron_style, "check", "--offline", "--format", "json")
    assert code == 0, stdout


def test_a_label_nothing_tells_is_unknown_and_hides_nothing(neutron_style: Path) -> None:
    # the constant is now computed, in a module that needs a package not installed here:
    # neither its text nor an import tells the label, as for alembic on this machine
    (neutron_style / "netproj/db/migration/cli.py").write_text(
        "import oslo_config_not_installed\n\n"
        "EXPAND_BRANCH = oslo_config_not_installed.branch('expand')\n"
        "CONTRACT_BRANCH = 'contract'\n"
        "MIGRATION_BRANCHES = (EXPAND_BRANCH, CONTRACT_BRANCH)\n"
    )

    code, stdout, _ = migdoctor(neutron_style, "check", "--offline", "--format", "json")

    document = json.loads(stdout)
    assert code == 1, stdout
    # the literal revision and down_revision still place the file: same heads, no false
    # missing parent for the revision after it
    assert sorted(document["project"]["heads"]) == ["2b3c4d5e6f7a", "4d5e6f7a8b9c"]
    failures = [f for f in document["findings"] if f["check"] == "script-load-error"]
    assert {f["check"] for f in document["findings"]} <= {
        "script-load-error",
        "multiple-heads",
        "irreversible-downgrade",
    }
    by_file = {Path(f["evidence"]["path"]).name: f for f in failures}
    first = by_file[EXPAND_FIRST.name]
    assert first["evidence"]["revision"] == "1a2b3c4d5e6f"
    assert first["evidence"]["unknown_header"] == {"branch_labels": "(cli.EXPAND_BRANCH,)"}
    assert "oslo_config_not_installed" in first["message"]
    assert "except branch_labels ((cli.EXPAND_BRANCH,))" in first["message"]
    # the contract branch's label is still a literal there: read, and not reported unknown
    contract = by_file["3c4d5e6f7a8b_contract_initial.py"]
    assert "unknown_header" not in contract["evidence"]
    # the expand head's label is unknown: whether the two heads are deliberate cannot be told,
    # so no "merge them" error (the real branches are kept apart on purpose)
    heads = finding(document, "multiple-heads")
    assert heads["severity"] == "warning"
    assert heads["evidence"]["unknown_labels"] == {"1a2b3c4d5e6f": "(cli.EXPAND_BRANCH,)"}
    assert heads["fixes"] == []
    code, stdout, _ = migdoctor(neutron_style, "heads")
    assert code == 0
    assert "4d5e6f7a8b9c (contract) (head)" in stdout


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_star_import_before_the_header_does_not_hide_it(tmp_path: Path) -> None:
    script = read_revision_file(
        write(
            tmp_path / "a.py",
            "from peewee_not_installed import *\n"
            "revision = 'a1'\n"
            "down_revision = 'a0'\n"
            "def upgrade():\n    pass\n",
        )
    )
    assert isinstance(script, RevisionScript)
    assert (script.revision, script.down_revisions, script.read_by) == ("a1", ("a0",), "ast")


def test_a_star_import_after_the_header_may_rebind_it(tmp_path: Path) -> None:
    (tmp_path / "rebinding.py").write_text("down_revision = 'from-the-star'\n")
    sys.path.insert(0, str(tmp_path))
    try:
        script = read_revision_file(
            write(
                tmp_path / "b.py",
                "revision = 'b1'\ndown_revision = 'b0'\nfrom rebinding import *\n",
            )
        )
    finally:
        sys.path.remove(str(tmp_path))
    # as alembic reads it: the module's value after it ran
    assert isinstance(script, RevisionScript)
    assert (script.down_revisions, script.read_by) == (("from-the-star",), "import")


def test_an_unknown_field_keeps_the_literal_ones(tmp_path: Path) -> None:
    script = read_revision_file(
        write(
            tmp_path / "c.py",
            "from not_installed_labels import BRANCH\n"
            "revision = 'c1'\n"
            "down_revision = 'c0'\n"
            "try:\n    depends_on = BRANCH.depends\nexcept AttributeError:\n    depends_on = None\n"
            "branch_labels = (BRANCH,)\n",
        )
    )
    assert isinstance(script, RevisionScript)
    assert (script.revision, script.down_revisions) == ("c1", ("c0",))
    assert (script.branch_labels, script.depends_on) == ((), ())
    assert script.unresolved == (
        ("branch_labels", "(BRANCH,)"),
        ("depends_on", "set at line 4 by a try statement"),
    )
