"""Header fields computed from the project's own constants, resolved without importing.

Real histories compute a header field from a constant of the application:
``branch_labels = (cli.EXPAND_BRANCH,)`` after ``from neutron.db.migration import cli``
(OpenStack Neutron's expand/contract branches), or ``depends_on = BASELINE`` after a star import.
When the module that defines the constant is in the project (a file under the folder that holds
the project, found by the same dotted path an import would follow) and the constant is a
literal there, the field is resolved from that module's syntax tree, without running the
application. Anything else is left to importing the revision file, as alembic would.

Only the revision file's module-level imports, names and attribute chains are followed, and
only into modules' module-level literal constants (and names bound to them): that is what
such headers use, and it is exact. No module is ever executed.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

from migdoctor.project.scripts import (
    RevisionScript,
    id_tuple,
    literal_value,
    names_stored,
    plain_assignments,
)

# a folder holding one of these is a project's root: modules are looked for up to it
_ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")


# a module-level name of a project module bound to something other than a literal
_NOT_LITERAL = object()


class _Unknown(Exception):
    """The value cannot be told from the project's files."""


def resolve_from_project(script: RevisionScript, search_roots: Sequence[Path]) -> RevisionScript:
    """``script`` with the unresolved header fields that the project's modules tell resolved
    (all of them or none: a header is read whole); ``search_roots``: folders where imported
    modules are looked for (the project's root and its import path)."""
    if not script.unresolved:
        return script
    try:
        tree = ast.parse(script.path.read_bytes(), filename=str(script.path))
    except (SyntaxError, ValueError, OSError):
        return script
    modules = _ProjectModules(tuple(search_roots))
    names = _ModuleNames(tree, modules)
    values: dict[str, tuple[str, ...]] = {}
    for field, _ in script.unresolved:
        expression = names.header_expressions.get(field)
        if expression is None:
            return script
        try:
            values[field] = id_tuple(names.value_of(expression))
        except (_Unknown, TypeError):
            return script
    depends_on = values.get("depends_on", script.depends_on)
    if script.revision in depends_on:
        return script  # importing the file tells what is wrong with it
    return replace(
        script,
        branch_labels=values.get("branch_labels", script.branch_labels),
        depends_on=depends_on,
        unresolved=(),
    )


def project_search_roots(version_file: Path, import_path: Sequence[str]) -> tuple[Path, ...]:
    """Where a revision file's imports are looked for: every folder from the file's own up to
    the project's root (the first with a pyproject.toml, setup.py, setup.cfg or .git), then the
    import path's folders inside that root."""
    roots: list[Path] = []
    folder = version_file.resolve().parent
    for candidate in (folder, *folder.parents):
        roots.append(candidate)
        if any((candidate / marker).exists() for marker in _ROOT_MARKERS):
            break
    top = roots[-1]
    for entry in import_path:
        path = Path(entry or ".").resolve()
        if path not in roots and path.is_relative_to(top):
            roots.append(path)
    return tuple(roots)


class _ProjectModules:
    """Module-level literal constants of the project's modules, parsed once each."""

    def __init__(self, roots: tuple[Path, ...]) -> None:
        self.roots = roots
        self._constants: dict[str, dict[str, Any] | None] = {}

    def exists(self, dotted: str) -> bool:
        return self._file_of(dotted) is not None

    def constants(self, dotted: str) -> dict[str, Any]:
        if dotted not in self._constants:
            self._constants[dotted] = self._read(dotted)
        found = self._constants[dotted]
        if found is None:
            raise _Unknown(dotted)
        return found

    def _file_of(self, dotted: str) -> Path | None:
        relative = Path(*dotted.split("."))
        for root in self.roots:
            for candidate in (root / relative.with_suffix(".py"), root / relative / "__init__.py"):
                if candidate.is_file():
                    return candidate
        return None

    def _read(self, dotted: str) -> dict[str, Any] | None:
        path = self._file_of(dotted)
        if path is None:
            return None
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError, OSError):
            return None
        constants: dict[str, Any] = {}
        for statement in tree.body:
            for name in names_stored(statement):
                constants[name] = _NOT_LITERAL
            for name, value in plain_assignments(statement):
                try:
                    constants[name] = literal_value(value, constants)
                except ValueError:
                    constants[name] = _NOT_LITERAL
        return constants


class _ModuleNames:
    """What the revision file's module-level names stand for: literals, or project modules
    and their constants reached through its imports."""

    def __init__(self, tree: ast.Module, modules: _ProjectModules) -> None:
        self.modules = modules
        self.literals: dict[str, Any] = {}
        # a name bound by an import: the dotted path it stands for (module or module.constant)
        self.imported: dict[str, str] = {}
        self.star_modules: list[str] = []
        self.header_expressions: dict[str, ast.expr] = {}
        for statement in tree.body:
            self._bind(statement)

    def _bind(self, statement: ast.stmt) -> None:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.asname:
                    self._rebind(alias.asname)
                    self.imported[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    self._rebind(top)
                    self.imported[top] = top
        elif isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
            for alias in statement.names:
                if alias.name == "*":
                    # it may rebind any name bound before it: those are no longer known
                    self.literals.clear()
                    self.imported.clear()
                    self.star_modules.append(statement.module)
                else:
                    bound = alias.asname or alias.name
                    self._rebind(bound)
                    self.imported[bound] = f"{statement.module}.{alias.name}"
        elif not isinstance(statement, (ast.Assign, ast.AnnAssign)):
            # bound under an `if`, `try`, `for`…: only running the module tells
            for name in names_stored(statement):
                self._rebind(name)
        for name, value in plain_assignments(statement):
            self._rebind(name)
            self.header_expressions[name] = value
            with suppress(ValueError):
                self.literals[name] = literal_value(value, self.literals)

    def _rebind(self, name: str) -> None:
        self.literals.pop(name, None)
        self.imported.pop(name, None)
        self.header_expressions.pop(name, None)

    def value_of(self, node: ast.expr) -> Any:
        if isinstance(node, (ast.Tuple, ast.List)):
            values = [self.value_of(element) for element in node.elts]
            return tuple(values) if isinstance(node, ast.Tuple) else values
        dotted = _dotted_name(node)
        if dotted is None:
            try:
                return literal_value(node, self.literals)
            except ValueError:
                raise _Unknown(ast.unparse(node)) from None
        first, *rest = dotted
        if first in self.literals and not rest:
            return self.literals[first]
        if first in self.imported:
            return self._attribute(".".join([self.imported[first], *rest]))
        if not first.startswith("_"):
            # the last star import that binds the name gives it; one outside the project may
            # bind anything
            for module in reversed(self.star_modules):
                if not self.modules.exists(module):
                    break
                if first in self.modules.constants(module):
                    return self._attribute(".".join([module, *dotted]))
        raise _Unknown(".".join(dotted))

    def _attribute(self, dotted: str) -> Any:
        """The constant a dotted path names: the longest prefix that is a project module, then
        one of its constants."""
        module, _, name = dotted.rpartition(".")
        if not module or not self.modules.exists(module):
            raise _Unknown(dotted)
        value = self.modules.constants(module).get(name, _NOT_LITERAL)
        if value is _NOT_LITERAL:
            raise _Unknown(dotted)
        return value


def _dotted_name(node: ast.expr) -> list[str] | None:
    """``a.b.c`` as its parts, or None for any other expression."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]
