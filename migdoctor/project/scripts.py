"""Read revision headers from version files without importing them.

Real projects' revision files import the application (models, settings), which is often not
importable where a check runs. The header (``revision``, ``down_revision``, ``branch_labels``,
``depends_on``) is almost always literal, so it is read from the syntax tree, as the module's
top-level statements leave it (the last binding counts; a star import before the header hides
nothing). A file whose ``revision`` or ``down_revision`` is not literal is imported on its own,
as alembic would import it; a file that can be neither parsed nor imported becomes a
:class:`ScriptLoadError` and the others are still read. A ``branch_labels`` or ``depends_on``
that is not literal is *unresolved*: the project's own modules may tell it
(:mod:`migdoctor.project.header_constants`), else importing the file does, and when that import
fails the literal fields still hold. From the same tree comes whether ``upgrade()`` and
``downgrade()`` do anything at all.

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
    # header fields the file's text does not tell (``branch_labels = (cli.EXPAND_BRANCH,)``),
    # each with its source: their values above are empty until the project's modules or an
    # import of the file tell them (``gathering.gather``); ``revision`` and ``down_revision``
    # are never among them (a file whose text does not tell those is imported)
    unresolved: tuple[tuple[str, str], ...] = ()
    # the lines of the module-level ``revision =`` and ``down_revision =`` statements (None when
    # the source cannot tell): where a report or an annotation points
    revision_line: int | None = None
    down_revision_line: int | None = None

    @property
    def label(self) -> str:
        """``id (message)`` as the user knows a revision: one item of a list of them (alembic's
        ``id, message`` made a list of two revisions read as four items)."""
        return f"{self.revision} ({self.doc})" if self.doc else self.revision


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
    return completed_by_import(path, header)


def completed_by_import(
    path: Path, header: RevisionScript | ScriptLoadError | None
) -> RevisionScript | ScriptLoadError:
    """The header, with what its text does not tell read by importing the file; when that
    import fails, a header whose ``revision`` and ``down_revision`` were read keeps them (its
    unresolved fields stay empty): one unknown field never hides the literal ones."""
    if isinstance(header, ScriptLoadError) or (header is not None and not header.unresolved):
        return header
    return header_after_import(header, import_with_function_bodies(path))


def header_after_import(
    header: RevisionScript | None, imported: RevisionScript | ScriptLoadError
) -> RevisionScript | ScriptLoadError:
    """What an import of the file tells, except that an import that fails leaves a header read
    in part as it was (the check of loading reports the failure)."""
    if header is not None and isinstance(imported, ScriptLoadError):
        return header
    return imported


def unreadable(path: Path, error: OSError) -> ScriptLoadError:
    return ScriptLoadError(path, f"{type(error).__name__}: {error}")


def read_header_statically(path: Path) -> RevisionScript | ScriptLoadError | None:
    """The header as the file's text alone tells it, or None when only importing the file can
    (a computed header, or a compiled file). The answer depends on nothing but the file's
    bytes, which is what makes it safe to cache; a file that cannot be read raises OSError."""
    if path.suffix in (".pyc", ".pyo"):
        return None
    return header_from_source(path.read_bytes(), path)


def header_from_source(source: bytes, path: Path) -> RevisionScript | ScriptLoadError | None:
    """The header ``source`` declares, read from its text alone (None: only an import could
    tell); ``path`` is where the file is, or was."""
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
    return _with_function_bodies(result, tree, source)


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
        source = path.read_bytes()
        tree = ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return result
    return _with_function_bodies(result, tree, source)


def _with_function_bodies(
    result: RevisionScript | ScriptLoadError, tree: ast.Module, source: bytes
) -> RevisionScript | ScriptLoadError:
    if isinstance(result, ScriptLoadError):
        return result
    upgrade_body, downgrade_body = function_bodies(tree, source)
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
        if type(statement) not in _ASSIGNMENTS:
            continue  # plain_assignments() would find nothing in it
        for name, _ in plain_assignments(statement):
            if name in HEADER_NAMES:
                lines[name] = statement.lineno
    return lines


# the header fields without which there is no revision: a file whose text does not tell them
# is imported; the others, when not literal, are left unresolved and the rest still read
_IDENTITY = frozenset(("revision", "down_revision"))


def _header_from_tree(tree: ast.Module, path: Path) -> RevisionScript | ScriptLoadError:
    """The header as the module's top-level statements leave it, as alembic reads it after
    running the module: the last binding of each name counts. A field that is not literal is
    unresolved (with its source), which hides none of the literal ones."""
    literals: dict[str, Any] = {}
    unresolved: dict[str, str] = {}
    for statement in tree.body:
        if type(statement) in _BINDS_NOTHING_AT_MODULE_LEVEL:
            continue  # assigns nothing, and names_stored() would find nothing in it
        if _is_star_import(statement):
            # ``from x import *`` may rebind any name bound before it (not one bound after)
            if _IDENTITY.intersection(literals) or _IDENTITY.intersection(unresolved):
                raise _NeedsImport
            rebound = [name for name in literals if name in HEADER_NAMES]
            unresolved.update(dict.fromkeys(rebound, ast.unparse(statement)))
            literals.clear()
            continue
        for name, value in _module_assignments(statement):
            try:
                literals[name] = literal_value(value, literals)
                unresolved.pop(name, None)
            except ValueError:
                literals.pop(name, None)
                if name in HEADER_NAMES:
                    unresolved[name] = ast.unparse(value)
        if not isinstance(statement, (ast.Assign, ast.AnnAssign)):
            for name in names_stored(statement):
                # bound under an `if`, `try`, `for` or `with`: only running the module tells
                literals.pop(name, None)
                if name in HEADER_NAMES:
                    unresolved[name] = f"set at line {statement.lineno} by a {_kind(statement)}"
    if _IDENTITY.intersection(unresolved):
        raise _NeedsImport
    doc = ast.get_docstring(tree, clean=False) or ""
    script = _script_from_values(literals, doc, path, read_by="ast")
    if isinstance(script, ScriptLoadError) or not unresolved:
        return script
    return replace(script, unresolved=tuple(sorted(unresolved.items())))


def _is_star_import(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.ImportFrom) and any(a.name == "*" for a in statement.names)


def _kind(statement: ast.stmt) -> str:
    """``if`` statement, ``import`` statement…, as the user would call it."""
    if isinstance(statement, ast.ImportFrom):
        return "from-import"
    name = type(statement).__name__.lower().removeprefix("async").removesuffix("star")
    return f"{name} statement"


def _module_assignments(statement: ast.stmt) -> Iterator[tuple[str, ast.expr]]:
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            if isinstance(target, (ast.Tuple, ast.List)):
                names = {elt.id for elt in target.elts if isinstance(elt, ast.Name)}
                if names.intersection(HEADER_NAMES):
                    raise _NeedsImport
    yield from plain_assignments(statement)


def plain_assignments(statement: ast.stmt) -> Iterator[tuple[str, ast.expr]]:
    """``(name, value)`` for each plain name a statement assigns (``x = …``, ``x: T = …``)."""
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            if isinstance(target, ast.Name):
                yield target.id, statement.value
    elif (
        isinstance(statement, ast.AnnAssign)
        and isinstance(statement.target, ast.Name)
        and statement.value is not None
    ):
        yield statement.target.id, statement.value


_BINDS_NOTHING_AT_MODULE_LEVEL = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_ASSIGNMENTS = (ast.Assign, ast.AnnAssign)


def names_stored(statement: ast.stmt) -> set[str]:
    """Module-level names a compound statement binds (function and class bodies are not)."""
    # the statements of every revision file, told without walking them
    if isinstance(statement, _BINDS_NOTHING_AT_MODULE_LEVEL):
        return set()
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {a.asname or a.name.split(".")[0] for a in statement.names if a.name != "*"}
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
        return set()
    stored: set[str] = set()
    pending: list[ast.AST] = [statement]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            stored.add(node.id)
        elif isinstance(node, ast.alias) and node.name != "*":
            stored.add(node.asname or node.name.split(".")[0])
        pending.extend(ast.iter_child_nodes(node))
    return stored


def literal_value(node: ast.expr, known: dict[str, Any]) -> Any:
    """A literal value, allowing names bound earlier in the module to literals."""
    if isinstance(node, ast.Constant):
        return node.value  # what ast.literal_eval gives, without its set-up
    if isinstance(node, ast.Name):
        if node.id in known:
            return known[node.id]
        raise ValueError(node.id)
    if isinstance(node, (ast.Tuple, ast.List)):
        values = [literal_value(element, known) for element in node.elts]
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
        down_revisions = id_tuple(values["down_revision"])
        branch_labels = id_tuple(values.get("branch_labels"))
        depends_on = id_tuple(values.get("depends_on"))
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


def id_tuple(value: Any) -> tuple[str, ...]:
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
