"""Whether a revision's ``upgrade()`` and ``downgrade()`` do anything, from its syntax tree."""

from __future__ import annotations

import ast
from typing import Literal

# what a revision's upgrade() or downgrade() does, read from its syntax tree: "code", "empty"
# (only pass, docstrings, ``...``), or "missing" (the module defines no such function)
FunctionBody = Literal["code", "empty", "missing"]


def function_bodies(tree: ast.Module) -> tuple[FunctionBody | None, FunctionBody | None]:
    """What ``upgrade()`` and ``downgrade()`` do, judged from their statements alone."""
    bindings = _bindings(tree, ("upgrade", "downgrade"))
    return _function_body(tree, "upgrade", bindings), _function_body(tree, "downgrade", bindings)


def _function_body(tree: ast.Module, name: str, bindings: dict[str, int]) -> FunctionBody | None:
    top_level = [
        statement
        for statement in tree.body
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == name
    ]
    if bindings[name] > len(top_level):
        # also assigned, imported, or defined under an `if`: only running the module tells
        return None
    if not top_level:
        return "missing"
    # the last definition is the one the module ends up with
    return "empty" if all(_does_nothing(s) for s in top_level[-1].body) else "code"


def _bindings(tree: ast.Module, names: tuple[str, ...]) -> dict[str, int]:
    """How many statements anywhere in the module may bind each name (a star import binds
    them all)."""
    counts = dict.fromkeys(names, 0)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound = node.name
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound = node.id
        elif isinstance(node, ast.alias):
            if node.name == "*":
                counts = {name: count + 1 for name, count in counts.items()}
                continue
            bound = node.asname or node.name.split(".")[0]
        else:
            continue
        if bound in counts:
            counts[bound] += 1
    return counts


def _does_nothing(statement: ast.stmt) -> bool:
    """``pass``, a docstring or a bare ``...``: the statements of an empty body."""
    if isinstance(statement, ast.Pass):
        return True
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
