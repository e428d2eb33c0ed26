"""Read revision headers from version files without importing them.

Real projects' revision files import the application (models, settings), which is often not
importable where a check runs. The header (``revision``, ``down_revision``, ``branch_labels``,
``depends_on``) is almost always literal, so it is read from the syntax tree. A file whose header
is not literal is imported on its own, as alembic would import it; a file that can be neither
parsed nor imported becomes a :class:`ScriptLoadError` and the others are still read. From the
same tree comes whether ``upgrade()`` and ``downgrade()`` do anything at all.

Which files are revision files is decided in :mod:`migdoctor.project.version_files`; how the
bodies of the two functions are judged, in :mod:`migdoctor.project.function_bodies`.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from migdoctor.errors import describe_exception
from migdoctor.project.function_bodies import FunctionBody, function_bodies

_LEGACY_REVISION = re.compile(r"([a-f0-9]+)\.py$")
_ILLEGAL_ID_CHARACTERS = frozenset("@-+:")
HEADER_NAMES = ("revision", "down_revision", "branch_labels", "depends_on")


@dataclass(frozen=True)
class RevisionScript:
    """One revision file's header, as alembic's ``Script`` would see it."""

    revision: str
    down_revisions: tuple[str, ...]
    branch_labels: tuple[str, ...]
    depends_on: tuple[str, ...]
    doc: str
    path: Path
    read_by: str = "ast"
    longdoc: str = ""
    # None when the source cannot tell (a .pyc, or the name bound some other way)
    upgrade_body: FunctionBody | None = None
    downgrade_body: FunctionBody | None = None
    # the lines of the module-level ``revision =`` and ``down_revision =`` statements (None when
    # the source cannot tell): where a report or an annotation points
    revision_line: int | None = None
    down_revision_line: int | None = None

    @property
    def label(self) -> str:
        """``id, message`` as the user knows a revision."""
        return f"{self.revision}, {self.doc}" if self.doc else self.revision


@dataclass(frozen=True)
class ScriptLoadError:
    """A version file that could not be read; the message says why."""

    path: Path
    message: str
    line: int | None = None
    # the rest only for a file whose header was read but which fails when imported (as alembic
    # imports every version file): the statement at ``line``, the module that could not be
    # found, and where the project declares that module's package (``requirements.txt:3``);
    # ``declarations_read``: the requirement files looked at (none: it cannot be told)
    imported: bool = False
    statement: str | None = None
    missing_module: str | None = None
    declared_in: tuple[str, ...] = ()
    declarations_read: tuple[str, ...] = ()

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else str(self.path)


class _NeedsImport(Exception):
    """The header is not literal: only importing the file tells its values."""


def read_revision_file(path: Path) -> RevisionScript | ScriptLoadError:
    """Read one file's header: from its syntax tree, or by importing it when it is not literal."""
    try:
        header = read_header_statically(path)
    except OSError as error:
        return unreadable(path, error)
    return import_with_function_bodies(path) if header is None else header


def unreadable(path: Path, error: OSError) -> ScriptLoadError:
    return ScriptLoadError(path, f"{type(error).__name__}: {error}")


def read_header_statically(path: Path) -> RevisionScript | ScriptLoadError | None:
    """The header as the file's text alone tells it, or None when only importing the file can
    (a computed header, or a compiled file). The answer depends on nothing but the file's
    bytes, which is what makes it safe to cache; a file that cannot be read raises OSError."""
    if path.suffix in (".pyc", ".pyo"):
        return None
    source = path.read_bytes()
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as error:
        return ScriptLoadError(path, f"SyntaxError: {error.msg}", error.lineno)
    except ValueError as error:  # null bytes in the source
        return ScriptLoadError(path, f"{type(error).__name__}: {error}")
    try:
        result = _header_from_tree(tree, path)
    except _NeedsImport:
        return None
    return _with_function_bodies(result, tree)


def import_with_function_bodies(path: Path) -> RevisionScript | ScriptLoadError:
    """Import a file whose header is not literal; what its functions do still comes from its
    syntax tree when it has one (not for a compiled file)."""
    result = import_revision_file(path)
    return _with_bodies_from_source(result, path)


def script_from_imported(
    path: Path, values: dict[str, Any], doc: str
) -> RevisionScript | ScriptLoadError:
    """The header of a file imported elsewhere (a child process), from its module's values;
    what its functions do from its syntax tree."""
    result = _script_from_values(values, doc, path, read_by="import")
    return _with_bodies_from_source(result, path)


def _with_bodies_from_source(
    result: RevisionScript | ScriptLoadError, path: Path
) -> RevisionScript | ScriptLoadError:
    """What the file's functions do, from its syntax tree when it has one (not for a compiled
    file, nor one that does not parse)."""
    if isinstance(result, ScriptLoadError) or path.suffix in (".pyc", ".pyo"):
        return result
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return result
    return _with_function_bodies(result, tree)


def _with_function_bodies(
    result: RevisionScript | ScriptLoadError, tree: ast.Module
) -> RevisionScript | ScriptLoadError:
    if isinstance(result, ScriptLoadError):
        return result
    upgrade_body, downgrade_body = function_bodies(tree)
    lines = _header_lines(tree)
    return replace(
        result,
        upgrade_body=upgrade_body,
        downgrade_body=downgrade_body,
        revision_line=lines.get("revision"),
        down_revision_line=lines.get("down_revision"),
    )


def _header_lines(tree: ast.Module) -> dict[str, int]:
    """The line of the module-level statement that last binds each header name."""
    lines: dict[str, int] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, ast.AnnAssign):
            targets = [statement.target]
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in HEADER_NAMES:
                lines[target.id] = statement.lineno
    return lines


def _header_from_tree(tree: ast.Module, path: Path) -> RevisionScript | ScriptLoadError:
    literals: dict[str, Any] = {}
    assigned_elsewhere: set[str] = set()
    for statement in tree.body:
        for name, value in _module_assignments(statement):
            try:
                literals[name] = _literal(value, literals)
            except ValueError:
                if name in HEADER_NAMES:
                    raise _NeedsImport from None
                literals.pop(name, None)
        if not isinstance(statement, (ast.Assign, ast.AnnAssign)):
            assigned_elsewhere.update(_names_stored(statement))
        if isinstance(statement, ast.ImportFrom) and any(a.name == "*" for a in statement.names):
            raise _NeedsImport

    if assigned_elsewhere.intersection(HEADER_NAMES):
        # set under an `if` or `try`: only running the module tells the value
        raise _NeedsImport
    doc = ast.get_docstring(tree, clean=False) or ""
    return _script_from_values(literals, doc, path, read_by="ast")


def _module_assignments(statement: ast.stmt) -> Iterator[tuple[str, ast.expr]]:
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            if isinstance(target, ast.Name):
                yield target.id, statement.value
            elif isinstance(target, (ast.Tuple, ast.List)):
                names = {elt.id for elt in target.elts if isinstance(elt, ast.Name)}
                if names.intersection(HEADER_NAMES):
                    raise _NeedsImport
    elif (
        isinstance(statement, ast.AnnAssign)
        and isinstance(statement.target, ast.Name)
        and statement.value is not None
    ):
        yield statement.target.id, statement.value


def _names_stored(statement: ast.stmt) -> set[str]:
    """Module-level names a compound statement binds (function and class bodies are not)."""
    stored: set[str] = set()
    pending: list[ast.AST] = [statement]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            stored.add(node.id)
        pending.extend(ast.iter_child_nodes(node))
    return stored


def _literal(node: ast.expr, known: dict[str, Any]) -> Any:
    """A literal value, allowing names bound earlier in the module to literals."""
    if isinstance(node, ast.Name):
        if node.id in known:
            return known[node.id]
        raise ValueError(node.id)
    if isinstance(node, (ast.Tuple, ast.List)):
        values = [_literal(element, known) for element in node.elts]
        return tuple(values) if isinstance(node, ast.Tuple) else values
    return ast.literal_eval(node)


def import_revision_file(path: Path) -> RevisionScript | ScriptLoadError:
    """Import one revision file as alembic does and read its header from the module."""
    try:
        module = load_module(path)
    except BaseException as error:  # a user's file may raise anything, even SystemExit
        if isinstance(error, KeyboardInterrupt):
            raise
        return ScriptLoadError(path, describe_exception(error), _line_in(error, path))
    values = {name: getattr(module, name) for name in HEADER_NAMES if hasattr(module, name)}
    return _script_from_values(values, module.__doc__ or "", path, read_by="import")


def load_module(path: Path) -> ModuleType:
    module_id = re.sub(r"\W", "_", path.name)
    spec = importlib.util.spec_from_file_location(module_id, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"Cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _script_from_values(
    values: dict[str, Any], doc: str, path: Path, read_by: str
) -> RevisionScript | ScriptLoadError:
    revision = values.get("revision")
    if revision is None:
        legacy = _LEGACY_REVISION.match(path.name)
        if not legacy:
            return ScriptLoadError(
                path,
                f"Could not determine revision id from filename {path.name}: the file does "
                "not declare 'revision'.",
            )
        revision = legacy.group(1)
    if not isinstance(revision, str):
        return ScriptLoadError(path, f"revision must be a string, not {revision!r}.")
    illegal = sorted(_ILLEGAL_ID_CHARACTERS.intersection(revision))
    if illegal:
        return ScriptLoadError(
            path, f"Character(s) '{', '.join(illegal)}' not allowed in revision id {revision!r}."
        )
    if "down_revision" not in values:
        return ScriptLoadError(path, "The file does not declare 'down_revision'.")
    try:
        down_revisions = _id_tuple(values["down_revision"])
        branch_labels = _id_tuple(values.get("branch_labels"))
        depends_on = _id_tuple(values.get("depends_on"))
    except TypeError as error:
        return ScriptLoadError(path, str(error))
    if revision in down_revisions:
        return ScriptLoadError(path, f"Revision {revision} names itself as its down_revision.")
    if revision in depends_on:
        return ScriptLoadError(path, f"Revision {revision} depends on itself.")
    return RevisionScript(
        revision=revision,
        down_revisions=down_revisions,
        branch_labels=branch_labels,
        depends_on=depends_on,
        doc=_first_paragraph(doc),
        path=path,
        read_by=read_by,
        longdoc=doc.strip(),
    )


def _id_tuple(value: Any) -> tuple[str, ...]:
    """alembic's ``util.to_tuple``: None is empty, a string is one id, a sequence is many."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (tuple, list, set, frozenset)):
        if not all(isinstance(item, str) for item in value):
            raise TypeError(f"revision identifiers must be strings: {value!r}")
        return tuple(value)
    raise TypeError(f"revision identifiers must be strings: {value!r}")


def _first_paragraph(doc: str) -> str:
    return re.split("\n\n", doc.strip())[0] if doc else ""


def _line_in(error: BaseException, path: Path) -> int | None:
    """The line of ``path`` where the error happened, if the traceback passes through it."""
    if isinstance(error, SyntaxError) and error.filename and Path(error.filename) == path:
        return error.lineno
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename and Path(frame.filename) == path:
            line = frame.lineno
    return line
