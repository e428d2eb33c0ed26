"""The project's own Python modules, read as syntax trees: their dotted names, what each
module-level name is bound to, and which modules import which. Nothing is ever imported.

Only the files that mention a model, a base or a ``MetaData`` (and packages' ``__init__``) are
parsed. The walk skips what is not the application (virtual environments, ``site-packages``,
``node_modules``, hidden folders, tests, the migration scripts) and stops after
``MAX_FILES`` files, ``MAX_BYTES`` bytes or ``MAX_PARSED`` parsed files, so a huge repository
stays fast.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILES = 5000
MAX_FILE_BYTES = 500_000
MAX_BYTES = 50_000_000
MAX_PARSED = 300
# only files that mention one of these are parsed (parsing is what costs): the others declare
# no model, no base and no MetaData
WORDS = re.compile(
    rb"declarative|DeclarativeBase|generate_base|MetaData|SQLAlchemy|SQLModel|__tablename__"
    rb"|__abstract__|Table\(|\.Model\b|mapped_column|Column\("
)
_SKIPPED_FOLDERS = frozenset(
    {"__pycache__", "node_modules", "site-packages", "dist-packages", "tests", "test"}
)
# a folder holding one of these is a project's root
ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")

# what an expression refers to: ("module", dotted), ("symbol", module, name), or
# ("attr", module, name, attribute) for ``Base.metadata``, ``db.Model``
Reference = tuple[str, ...]


@dataclass
class Module:
    name: str
    path: Path
    root: Path  # the folder it is imported from
    tree: ast.Module
    is_package: bool
    mentions_table: bool = False  # the source says ``Table(``: worth walking for calls
    # module-level names bound by an import: name -> ("module", dotted) or ("from", module, name)
    imports: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # module-level names defined here (classes, assignments)
    defined: set[str] = field(default_factory=set)
    # every module named by a module-level import statement
    imported_modules: set[str] = field(default_factory=set)


@dataclass
class ModuleIndex:
    modules: dict[str, Module]
    files_read: int
    capped: str | None = None

    def resolve(self, module: Module, expression: ast.expr, depth: int = 0) -> Reference | None:
        """What ``expression`` in ``module`` refers to, followed through imports."""
        if isinstance(expression, ast.Name):
            return self.symbol(module.name, expression.id, depth)
        if isinstance(expression, ast.Attribute):
            owner = self.resolve(module, expression.value, depth)
            if owner is None:
                return None
            if owner[0] == "module":
                return self.symbol(owner[1], expression.attr, depth)
            if owner[0] == "symbol":
                return ("attr", owner[1], owner[2], expression.attr)
        return None

    def symbol(self, module_name: str, name: str, depth: int = 0) -> Reference | None:
        """``name`` of module ``module_name``: a submodule, a definition, or followed through
        the import that binds it (a package's ``__init__`` re-exporting it, say)."""
        if f"{module_name}.{name}" in self.modules:
            return ("module", f"{module_name}.{name}")
        module = self.modules.get(module_name)
        if module is None:  # not the project's: sqlalchemy, sqlmodel, flask_sqlalchemy
            return ("symbol", module_name, name)
        if name in module.defined:
            return ("symbol", module_name, name)
        bound = module.imports.get(name)
        if bound is None or depth > 8:
            return None
        if bound[0] == "module":
            return bound
        return self.symbol(bound[1], bound[2], depth + 1)

    def closure(self, starts: Iterable[str]) -> set[str]:
        """The project modules importing ``starts`` runs (their packages' too)."""
        seen: set[str] = set()
        waiting = [name for start in starts for name in _with_packages(start)]
        while waiting:
            name = waiting.pop()
            if name in seen or name not in self.modules:
                continue
            seen.add(name)
            for imported in self.modules[name].imported_modules:
                waiting.extend(_with_packages(imported))
        return seen

    def imported_by_file(self, path: Path) -> list[tuple[str, Path]]:
        """The project modules a file (env.py) imports at module level, with the folders they
        are imported from."""
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (OSError, SyntaxError, ValueError):
            return []
        names: list[str] = []
        for statement in module_level(tree.body):
            if isinstance(statement, ast.Import):
                names += [alias.name for alias in statement.names]
            elif (
                isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module
            ):
                source = statement.module
                names += [source, *(f"{source}.{alias.name}" for alias in statement.names)]
        found = dict.fromkeys(name for name in names if name in self.modules)
        return [(name, self.modules[name].root) for name in found]


def _with_packages(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[: index + 1]) for index in range(len(parts))]


def project_root(base_directory: Path) -> Path:
    """The folder holding the project: the first folder from ``base_directory`` up that has a
    pyproject.toml, setup.py, setup.cfg or .git; else ``base_directory`` (its parent when it
    is itself the migrations folder, as Flask-Migrate's ``migrations/alembic.ini`` is)."""
    start = base_directory.resolve()
    if (start / "env.py").is_file():
        start = start.parent
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in ROOT_MARKERS):
            return folder
    return start


def index_modules(
    root: Path, skipped: Iterable[Path], sys_path_entries: Iterable[Path]
) -> ModuleIndex:
    """Every module under ``root`` but the ``skipped`` folders, named as it is imported
    (inside a package: from the folder above its top package; else from the first of
    ``sys_path_entries`` holding it; else from its own folder)."""
    skip = {path.resolve() for path in skipped}
    entries = [path.resolve() for path in sys_path_entries]
    modules: dict[str, Module] = {}
    files = 0
    total = 0
    capped = None
    parsed = 0
    for path in _python_files(root.resolve(), skip):
        if files >= MAX_FILES or total >= MAX_BYTES or parsed >= MAX_PARSED:
            capped = (
                f"stopped after {files} files ({total // 1_000_000} MB, {parsed} parsed) "
                f"under {root}"
            )
            break
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                continue
            source = path.read_bytes()
        except OSError:
            continue
        files += 1
        total += size
        # a package's __init__ is read whatever it says: it may re-export the models
        if path.name != "__init__.py" and not WORDS.search(source):
            continue
        named = _module_name(path, entries)
        if named is None:
            continue
        name, import_root = named
        parsed += 1
        try:
            tree = ast.parse(source, filename=str(path))
        except (SyntaxError, ValueError):
            continue
        if name not in modules:  # the first found wins, as on sys.path
            modules[name] = _read_module(name, path, import_root, tree)
            modules[name].mentions_table = b"Table(" in source
    return ModuleIndex(modules, files, capped)


def _python_files(root: Path, skip: set[Path]) -> Iterator[Path]:
    for folder, folders, names in os.walk(root):
        here = Path(folder)
        folders[:] = sorted(
            name
            for name in folders
            if not name.startswith(".")
            and name not in _SKIPPED_FOLDERS
            and not name.endswith(".egg-info")
            and (here / name).resolve() not in skip
            and not (here / name / "pyvenv.cfg").exists()
        )
        for name in sorted(names):
            if name.endswith(".py") and not _is_test_file(name):
                yield here / name


def _is_test_file(name: str) -> bool:
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def _module_name(path: Path, sys_path_entries: list[Path]) -> tuple[str, Path] | None:
    parts = [] if path.name == "__init__.py" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    if path.parent == folder:  # not inside a package: a sys.path entry may hold its folder
        for entry in sys_path_entries:
            if path.parent.is_relative_to(entry):
                parts = [*path.parent.relative_to(entry).parts, *parts]
                folder = entry
                break
    if not parts or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts), folder


def _read_module(name: str, path: Path, root: Path, tree: ast.Module) -> Module:
    is_package = path.name == "__init__.py"
    module = Module(name, path, root, tree, is_package)
    for statement in module_level(tree.body):
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                module.imported_modules.add(alias.name)
                if alias.asname:
                    module.imports[alias.asname] = ("module", alias.name)
                else:
                    top = alias.name.split(".")[0]
                    module.imports[top] = ("module", top)
        elif isinstance(statement, ast.ImportFrom):
            source = absolute_module(name, is_package, statement.module, statement.level)
            if source is None:
                continue
            module.imported_modules.add(source)
            for alias in statement.names:
                if alias.name == "*":
                    continue
                # ``from pkg import models`` may import a submodule: the index tells later
                module.imported_modules.add(f"{source}.{alias.name}")
                module.imports[alias.asname or alias.name] = ("from", source, alias.name)
        elif isinstance(statement, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            module.defined.add(statement.name)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    module.defined.add(target.id)
                    module.imports.pop(target.id, None)
    return module


def module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements run when the module is imported: the body, and inside its ``if`` and
    ``try`` blocks (``try: import x except ImportError: ...``)."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.If):
            yield from module_level(statement.body)
            yield from module_level(statement.orelse)
        elif isinstance(statement, ast.Try):
            yield from module_level(statement.body)
            for handler in statement.handlers:
                yield from module_level(handler.body)
            yield from module_level(statement.orelse)
            yield from module_level(statement.finalbody)


def absolute_module(importer: str, is_package: bool, module: str | None, level: int) -> str | None:
    """The dotted name ``from <level dots><module> import`` names in ``importer``."""
    if level == 0:
        return module
    package = importer.split(".") if is_package else importer.split(".")[:-1]
    if level - 1 > len(package) or (level - 1 == len(package) and not module):
        return None
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, *([module] if module else [])]) or None
