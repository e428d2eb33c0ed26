"""Scripts only: revision files read without importing them, and a revision graph that means
exactly what alembic's ``RevisionMap`` means."""

from __future__ import annotations

import ast
import random
import warnings
from pathlib import Path

import pytest

from migdoctor.project.function_bodies import function_bodies
from migdoctor.project.scripts import RevisionScript, ScriptLoadError, read_revision_file
from tests.helpers import alembic_map, copy_project, our_graph, random_history


def test_offline_check_reads_revisions_that_import_an_uninstalled_application(
    tmp_path: Path,
) -> None:
    project = copy_project("shop_uninstalled_app", tmp_path / "shop", None)

    result = project.migdoctor("check", "--offline", "--format", "json")

    # the graph is read from the headers; that alembic could not import the files here is
    # said for each of them, naming the package (issue 10: not "every version file can be read")
    assert result.exit_code == 1, result
    document = result.json()
    assert document["project"]["heads"] == ["0005_orders"]
    assert document["database"] is None
    assert {f["check"] for f in document["findings"]} == {"script-load-error"}
    assert sorted(
        (Path(f["evidence"]["path"]).name, f["evidence"]["line"], f["evidence"]["missing_module"])
        for f in document["findings"]
    ) == [
        ("0001_create_product.py", 11, "myshop"),
        ("0002_add_price.py", 9, "myshop"),
        ("0003_add_stock.py", 11, "myshop"),
        ("0004_merge.py", 6, "myshop"),
        ("0005_orders.py", 9, "myshop"),
    ]
    # heads and history read the headers only, and still work where alembic would stop
    heads = project.migdoctor("heads")
    assert heads.exit_code == 0, heads
    assert "0005_orders" in heads.stdout
    history = project.migdoctor("history")
    assert history.exit_code == 0, history
    assert "0001 -> 0002_price (pricing), add price" in history.stdout
    # the same project online: env.py itself imports the application, named in one line
    online = project.migdoctor("check")
    assert online.exit_code == 2
    assert "env.py failed at migrations/env.py:6" in online.stderr
    assert "No module named 'myshop'" in online.stderr


def test_offline_text_report_says_what_was_skipped(tmp_path: Path) -> None:
    project = copy_project("shop_uninstalled_app", tmp_path / "shop", None)

    result = project.migdoctor("check", "--offline")

    assert result.exit_code == 1, result  # script-load-error: myshop is not installed here
    assert "✗ script-load-error" in result.stdout
    assert "not checked (--offline)" in result.stdout
    assert "skipped: needs the database" in result.stdout
    assert "5 revisions" in result.stdout


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_header_read_from_literals_and_annotations(tmp_path: Path) -> None:
    script = read_revision_file(
        write(
            tmp_path / "a.py",
            '"""add things\n\nRevision ID: abc\n"""\n'
            "from myapp import models\n"
            "revision: str = 'abc'\n"
            "down_revision: Union[str, None] = ('x', 'y')\n"
            "branch_labels = 'feature'\n"
            "depends_on = ['dep1']\n",
        )
    )
    assert isinstance(script, RevisionScript)
    assert script.revision == "abc"
    assert script.down_revisions == ("x", "y")
    assert script.branch_labels == ("feature",)
    assert script.depends_on == ("dep1",)
    assert script.doc == "add things"
    assert script.read_by == "ast"


def test_header_through_a_module_level_name(tmp_path: Path) -> None:
    script = read_revision_file(
        write(tmp_path / "b.py", "PARENT = 'p1'\nrevision = 'b'\ndown_revision = PARENT\n")
    )
    assert isinstance(script, RevisionScript)
    assert script.down_revisions == ("p1",)
    assert script.read_by == "ast"


def test_computed_header_falls_back_to_importing_that_file(tmp_path: Path) -> None:
    script = read_revision_file(
        write(tmp_path / "c.py", "revision = 'c' + '1'\ndown_revision = None\n")
    )
    assert isinstance(script, RevisionScript)
    assert script.revision == "c1"
    assert script.read_by == "import"


def test_computed_header_that_cannot_be_imported_is_a_load_error(tmp_path: Path) -> None:
    result = read_revision_file(
        write(tmp_path / "d.py", "import not_installed_pkg\nrevision = not_installed_pkg.ID\n")
    )
    assert isinstance(result, ScriptLoadError)
    assert "No module named 'not_installed_pkg'" in result.message
    assert result.line == 1


def test_syntax_error_is_a_load_error_with_its_line(tmp_path: Path) -> None:
    result = read_revision_file(write(tmp_path / "e.py", "revision = 'e'\ndown_revision = (\n"))
    assert isinstance(result, ScriptLoadError)
    assert result.message.startswith("SyntaxError")
    assert result.line is not None


def test_file_without_revision_is_a_load_error_unless_named_by_its_id(tmp_path: Path) -> None:
    helper = read_revision_file(write(tmp_path / "helpers.py", "def f():\n    revision = 1\n"))
    assert isinstance(helper, ScriptLoadError)
    assert "Could not determine revision id" in helper.message
    legacy = read_revision_file(write(tmp_path / "ab12.py", "down_revision = None\n"))
    assert isinstance(legacy, RevisionScript)
    assert legacy.revision == "ab12"


@pytest.mark.parametrize(
    "body, upgrade, downgrade",
    [
        ("def upgrade():\n    op.f()\n\ndef downgrade():\n    op.g()\n", "code", "code"),
        (
            'def upgrade():\n    op.f()\n\ndef downgrade():\n    """No."""\n    pass\n    ...\n',
            "code",
            "empty",
        ),
        ("def upgrade():\n    op.f()\n", "code", "missing"),
        ("def upgrade():\n    pass\n\ndef downgrade():\n    pass\n", "empty", "empty"),
        (
            "def upgrade():\n    op.f()\n\ndef downgrade():\n    raise NotImplementedError\n",
            "code",
            "code",
        ),
        ("def upgrade():\n    op.f()\n\ndowngrade = upgrade\n", "code", None),
        ("from os.path import *\n\ndef upgrade():\n    op.f()\n", None, None),
        (
            "if True:\n    def downgrade():\n        pass\n\ndef upgrade():\n    op.f()\n",
            "code",
            None,
        ),
    ],
)
def test_what_upgrade_and_downgrade_do_is_read_from_the_source(
    tmp_path: Path, body: str, upgrade: str | None, downgrade: str | None
) -> None:
    script = read_revision_file(
        write(tmp_path / "f.py", f"revision = 'f'\ndown_revision = None\n\n{body}")
    )
    assert isinstance(script, RevisionScript)
    assert (script.upgrade_body, script.downgrade_body) == (upgrade, downgrade)


@pytest.mark.parametrize(
    "body, upgrade, downgrade",
    [
        # mentioned again (a comment, a call): counted from the tree, not the text
        ("# upgrade first\ndef upgrade():\n    op.f()\n", "code", "missing"),
        ("def upgrade():\n    downgrade()\n\ndef downgrade():\n    pass\n", "code", "empty"),
        # a name spelt in other characters is the same name (NFKC): the text cannot tell
        ("\uff55pgrade = None\n\ndef upgrade():\n    op.f()\n", None, "missing"),
        (
            "def upgrade():\n    op.f()\n\nclass K:\n    def downgrade(self):\n        pass\n",
            "code",
            None,
        ),
        ("from os.path import \\\n    *\n\ndef upgrade():\n    op.f()\n", None, None),
        ("if True:\n    from os.path import*\ndef upgrade():\n    op.f()\n", None, None),
        ("import upgrade\n\ndef upgrade():\n    pass\n", None, "missing"),
        ("def upgrade():\n    pass\n\ndef upgrade():\n    op.f()\n", "code", "missing"),
    ],
)
def test_upgrade_and_downgrade_read_from_the_text_agree_with_the_tree(
    tmp_path: Path, body: str, upgrade: str | None, downgrade: str | None
) -> None:
    # the bindings of upgrade/downgrade are counted from the text when it proves them
    # (function_bodies.py); wherever it cannot, the whole tree is walked: same answers
    source = f"revision = 'f'\ndown_revision = None\n\n{body}".encode()
    tree = ast.parse(source)
    assert function_bodies(tree, source) == function_bodies(tree) == (upgrade, downgrade)
    script = read_revision_file(write_bytes(tmp_path / "f.py", source))
    assert isinstance(script, RevisionScript)
    assert (script.upgrade_body, script.downgrade_body) == (upgrade, downgrade)


def write_bytes(path: Path, source: bytes) -> Path:
    path.write_bytes(source)
    return path


def test_what_downgrade_does_is_known_for_an_imported_file_too(tmp_path: Path) -> None:
    script = read_revision_file(
        write(
            tmp_path / "g.py",
            "revision = 'g' + '1'\ndown_revision = None\n\n"
            "def upgrade():\n    op.f()\n\ndef downgrade():\n    pass\n",
        )
    )
    assert isinstance(script, RevisionScript)
    assert script.read_by == "import"
    assert (script.upgrade_body, script.downgrade_body) == ("code", "empty")


# -- the graph agrees with alembic's RevisionMap ------------------------------------------------


@pytest.mark.parametrize("seed", range(60))
def test_graph_matches_alembic_revision_map(seed: int) -> None:
    rng = random.Random(seed)
    history = random_history(rng, rng.randint(3, 120))
    graph = our_graph(history)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        revision_map = alembic_map(history)

        assert graph.heads == tuple(revision_map.heads)
        assert graph.real_heads == tuple(revision_map._real_heads)
        assert graph.bases == tuple(revision_map.bases)
        for head in graph.heads:
            labels = revision_map.get_revision(head).branch_labels
            assert set(graph.branch_labels_of(head)) == labels, head
        alembic_history = [
            r.revision
            for r in revision_map.iterate_revisions(
                "heads", "base", inclusive=True, assert_relative_length=False
            )
        ]
        assert graph.history() == alembic_history

        ids = [revision for revision, *_ in history]
        compared = 0
        for _ in range(12):
            current = tuple(rng.sample(ids, rng.choice((1, 1, 2))))
            try:
                upgrade = [
                    r.revision
                    for r in revision_map.iterate_revisions("heads", current, implicit_base=True)
                ]
            except Exception:  # noqa: BLE001 - alembic refuses overlapping current revisions
                continue
            assert graph.pending(current) == list(reversed(upgrade)), current
            compared += 1
        assert compared > 0


def test_graph_survives_what_crashes_alembic() -> None:
    graph = our_graph(
        [
            ("a", (), (), ()),
            ("b", ("a",), (), ()),
            ("c", ("gone",), (), ()),
            ("d", ("b",), ("nolabel",), ()),
        ]
    )
    assert [(m.revision, m.missing, m.via) for m in graph.missing] == [
        ("c", "gone", "down_revision"),
        ("d", "nolabel", "depends_on"),
    ]
    assert set(graph.heads) == {"c", "d"}
    # c's parent is missing, so c starts a line of its own (alembic would raise KeyError)
    assert graph.pending(["a"]) == ["b", "d", "c"]


def test_graph_reports_cycles_without_hanging() -> None:
    graph = our_graph([("a", ("c",), (), ()), ("b", ("a",), (), ()), ("c", ("b",), (), ())])
    assert set(graph.cycle) == {"a", "b", "c"}
    assert sorted(graph.history()) == []  # no heads: nothing to walk from
