"""Whether a revision's ``upgrade()`` and ``downgrade()`` do anything, from its syntax tree."""

from __future__ import annotations

import ast
import re
from typing import Literal

# what a revision's upgrade() or downgrade() does, read from its syntax tree: "code", "empty"
# (only pass, docstrings, ``...``), or "missing" (the module defines no such function)
FunctionBody = Literal["code", "empty", "missing"]


_NAMES = ("upgrade", "downgrade")
# the mentions of the two names, and any star import (which binds every name unseen)
_MENTIONS = re.compile(rb"\b(upgrade|downgrade)\b|\bimport[\s\\]*\*")


def function_bodies(
    tree: ast.Module, source: bytes | None = None
) -> tuple[FunctionBody | None, FunctionBody | None]:
    """What ``upgrade()`` and ``downgrade()`` do, judged from their statements alone;
    ``source``, the text ``tree`` was parsed from, spares walking the whole tree when it can."""
    top_level: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {n: [] for n in _NAMES}
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found = top_level.get(statement.name)
            if found is not None:
                found.append(statement)
    bindings = _bindings_in_text(source, top_level) if source is not None else None
    if bindings is None:
        bindings = _bindings(tree, _NAMES)
    return (
        _function_body(top_level["upgrade"], bindings["upgrade"]),
        _function_body(top_level["downgrade"], bindings["downgrade"]),
    )


def _bindings_in_text(
    source: bytes, top_level: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]]
) -> dict[str, int] | None:
    """What :func:`_bindings` would count, when the text proves it without the tree: in ASCII
    text (where a name is spelt one way only) every binding of a name is a mention of it, so
    when the names are mentioned only as often as the module defines them at top level, those
    definitions are all their bindings. None when the text cannot tell (a star import binds
    every name unseen)."""
    if not source.isascii():
        return None
    mentions = {b"upgrade": 0, b"downgrade": 0}
    for mention in _MENTIONS.findall(source):
        if not mention:
            return None  # a star import
        mentions[mention] += 1
    counts = {"upgrade": mentions[b"upgrade"], "downgrade": mentions[b"downgrade"]}
    if any(counts[name] != len(top_level[name]) for name in _NAMES):
        return None
    return counts


def _function_body(
    top_level: list[ast.FunctionDef | ast.AsyncFunctionDef], bindings: int
) -> FunctionBody | None:
    if bindings > len(top_level):
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
