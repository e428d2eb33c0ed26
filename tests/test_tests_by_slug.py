"""Every check and every fix has its tests where a reader looks for them by its slug:
``tests/checks/test_<slug>.py`` runs a scenario that makes the check fire, and
``tests/fixes/test_<fix>.py`` runs the fix through the CLI. A new check or fix without them fails
here; so does a file in those folders named after nothing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from migdoctor.checks import Check, all_checks
from migdoctor.fixes import FIX_MODULES

TESTS = Path(__file__).resolve().parent


def module_name(slug: str) -> str:
    return slug.replace("-", "_")


def cases_of(path: Path) -> list[ast.FunctionDef]:
    tree = ast.parse(path.read_text())
    return [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]


def strings(node: ast.AST) -> set[str]:
    return {
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def migdoctor_calls(test: ast.FunctionDef) -> list[list[str]]:
    """The leading literal arguments of each ``….migdoctor(...)`` or ``….check_json(...)`` call
    (check_json runs ``check``)."""
    calls = []
    for node in ast.walk(test):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            literal = []
            for argument in node.args:
                if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
                    break
                literal.append(argument.value)
            if node.func.attr == "check_json":
                calls.append(["check", *literal])
            elif node.func.attr == "migdoctor":
                calls.append(literal)
    return calls


def asserts_it_fires(test: ast.FunctionDef, slug: str) -> bool:
    """The test runs ``check`` and asserts on the check's finding: the slug is named in an
    assert, or the finding is looked up with ``finding(document, slug)``."""
    runs_check = any(call[:1] == ["check"] for call in migdoctor_calls(test))
    named = any(
        slug in strings(node)
        for node in ast.walk(test)
        if isinstance(node, ast.Assert)
        or (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "finding"
        )
    )
    return runs_check and named


@pytest.mark.parametrize("check", all_checks(), ids=lambda check: check.slug)
def test_every_check_has_a_test_module_with_a_scenario_that_makes_it_fire(check: Check) -> None:
    assert check.function.__module__ == f"migdoctor.checks.{module_name(check.slug)}"
    path = TESTS / "checks" / f"test_{module_name(check.slug)}.py"
    assert path.exists(), f"{check.slug} has no tests: write tests/checks/{path.name}"

    firing = [test.name for test in cases_of(path) if asserts_it_fires(test, check.slug)]

    assert firing, f"no test in tests/checks/{path.name} runs check and asserts {check.slug} fires"


@pytest.mark.parametrize("fix_id", list(FIX_MODULES))
def test_every_fix_has_a_test_module_that_runs_it(fix_id: str) -> None:
    assert FIX_MODULES[fix_id] == module_name(fix_id)
    path = TESTS / "fixes" / f"test_{module_name(fix_id)}.py"
    assert path.exists(), f"{fix_id} has no tests: write tests/fixes/{path.name}"

    running = [
        test.name
        for test in cases_of(path)
        if any(call[:2] == ["fix", fix_id] for call in migdoctor_calls(test))
    ]

    assert running, f"no test in tests/fixes/{path.name} runs migdoctor fix {fix_id}"


def test_the_per_slug_folders_hold_nothing_named_after_nothing() -> None:
    checks = {f"test_{module_name(check.slug)}.py" for check in all_checks()}
    fixes = {f"test_{module_name(fix_id)}.py" for fix_id in FIX_MODULES}

    assert {p.name for p in (TESTS / "checks").glob("test_*.py")} <= checks
    assert {p.name for p in (TESTS / "fixes").glob("test_*.py")} <= fixes
