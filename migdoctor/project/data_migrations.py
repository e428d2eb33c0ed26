"""Data migrations in a revision's ``upgrade()``: the statements that change rows rather than the
schema, read from the source so that ``migdoctor squash`` can list them and copy them.

A statement of ``upgrade()`` is a data migration when it calls ``op.execute``,
``op.bulk_insert``, ``op.get_bind()`` (or ``op.get_context()``), or uses a name one of those was
bound to (``connection = op.get_bind()`` … ``connection.execute(...)``). What it needs is
copied with it: the earlier assignments of ``upgrade()`` and the module-level assignments and
imports whose names it uses (``users = sa.table(...)`` at the top of the file).
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

DATA_CALLS = frozenset({"execute", "bulk_insert", "get_bind", "get_context"})
# names every rendered revision imports itself
ALWAYS_IMPORTED = frozenset({"op", "sa"})


@dataclass(frozen=True)
class DataStatement:
    """One data-migration statement of a revision: where it is, what it calls, and its source
    with what it needs (in the order they must run)."""

    revision: str
    path: Path
    line: int
    calls: str  # "op.execute", "op.bulk_insert", "op.get_bind()" …
    source: str  # the statement and what it needs, dedented, one block

    def where(self, relative: str) -> str:
        return f"{relative}:{self.line}"


def data_statements(revision: str, path: Path) -> list[DataStatement]:
    """The data-migration statements of ``path``'s ``upgrade()``, in order (none when the file
    cannot be parsed or has no ``upgrade``)."""
    try:
        source = path.read_text(encoding="utf-8")
        module = ast.parse(source)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return []
    upgrade = next(
        (
            node
            for node in module.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "upgrade"
        ),
        None,
    )
    if upgrade is None:
        return []
    module_bindings = _bindings(module.body)
    found: list[DataStatement] = []
    bound_to_data: set[str] = set()
    earlier: list[ast.stmt] = []
    for statement in upgrade.body:
        calls = _data_calls(statement, bound_to_data)
        if calls:
            needed = _needed(statement, earlier, module_bindings)
            block = "\n".join(
                textwrap.dedent(ast.get_source_segment(source, node, padded=True) or "")
                for node in needed
            )
            found.append(
                DataStatement(revision, path, statement.lineno, ", ".join(calls), block.strip())
            )
            for target in _targets(statement):
                bound_to_data.add(target)
        earlier.append(statement)
    return found


def _data_calls(statement: ast.stmt, bound_to_data: set[str]) -> list[str]:
    calls: list[str] = []
    for node in ast.walk(statement):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id == "op" and node.func.attr in DATA_CALLS:
                word = f"op.{node.func.attr}" + (
                    "()" if node.func.attr in ("get_bind", "get_context") else ""
                )
                calls.append(word)
        if isinstance(node, ast.Name) and node.id in bound_to_data:
            calls.append(f"{node.id} (bound to the database)")
    return list(dict.fromkeys(calls))


def _targets(statement: ast.stmt) -> set[str]:
    if isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    if isinstance(statement, ast.With | ast.For):
        found: set[str] = set()
        items = statement.items if isinstance(statement, ast.With) else []
        for item in items:
            if item.optional_vars is not None:
                found |= {n.id for n in ast.walk(item.optional_vars) if isinstance(n, ast.Name)}
        return found
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {(alias.asname or alias.name).split(".")[0] for alias in statement.names}
    return set()


def _bindings(statements: list[ast.stmt]) -> dict[str, ast.stmt]:
    """The module-level statements that bind each name (imports and assignments)."""
    bound: dict[str, ast.stmt] = {}
    for statement in statements:
        if isinstance(statement, ast.Assign | ast.AnnAssign | ast.Import | ast.ImportFrom):
            for name in _targets(statement):
                bound[name] = statement
    return bound


def _used(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _needed(
    statement: ast.stmt, earlier: list[ast.stmt], module_bindings: dict[str, ast.stmt]
) -> list[ast.stmt]:
    """The statement, after the earlier statements of ``upgrade()`` and the module-level ones
    whose names it uses (and what those use), in source order."""
    chosen: list[ast.stmt] = [statement]
    wanted = _used(statement) - ALWAYS_IMPORTED
    from_module: list[ast.stmt] = []
    changed = True
    while changed:
        changed = False
        for candidate in reversed(earlier):
            if candidate not in chosen and _targets(candidate) & wanted:
                chosen.append(candidate)
                wanted |= _used(candidate) - ALWAYS_IMPORTED
                changed = True
        for name in sorted(wanted):
            binding = module_bindings.get(name)
            if binding is not None and binding not in from_module:
                local = any(name in _targets(c) for c in chosen)
                if not local:
                    from_module.append(binding)
                    wanted |= _used(binding) - ALWAYS_IMPORTED
                    changed = True
    in_function = sorted(chosen, key=lambda node: node.lineno)
    return sorted(from_module, key=lambda node: node.lineno) + in_function
