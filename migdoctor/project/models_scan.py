"""Find the models' ``MetaData`` in the project's modules from their syntax trees alone.

Never by importing them: an application module may connect, read settings or exit when
imported. Recognised, at module level:

- declarative bases: ``class Base(DeclarativeBase)`` (or ``DeclarativeBaseNoMeta``,
  ``@as_declarative()``), ``Base = declarative_base()``, ``Base = registry().generate_base()``;
- ``metadata = MetaData()`` (a base built on it, ``declarative_base(metadata=metadata)`` or
  ``metadata = metadata`` in the class body, is the same candidate: the base);
- Flask-SQLAlchemy's ``db = SQLAlchemy(...)`` (its models derive from ``db.Model``);
- SQLModel: ``class Hero(SQLModel, table=True)`` makes ``sqlmodel:SQLModel`` a candidate.

A model is a class deriving (through any chain of classes) from a candidate and declaring a
table: ``__tablename__``, ``__table__`` or mapped columns (Flask-SQLAlchemy and SQLModel name
the table after the class when it says nothing); ``Table("name", metadata, ...)`` and
``db.Table("name", ...)`` calls declare tables too.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from migdoctor.project.model_candidates import (
    DECLARATIVE,
    FLASK_SQLALCHEMY,
    METADATA,
    SQLMODEL,
    MetadataCandidate,
    ProjectModels,
)
from migdoctor.project.module_index import (
    Module,
    ModuleIndex,
    index_modules,
    module_level,
    project_root,
)

if TYPE_CHECKING:
    from migdoctor.project.config import ProjectConfig

_SQLMODEL_KEY = ("sqlmodel", "SQLModel")
_DECLARATIVE_CLASSES = frozenset({"DeclarativeBase", "DeclarativeBaseNoMeta"})
_MAPPED_CALLS = frozenset({"Column", "mapped_column", "relationship", "column_property"})


@dataclass
class _Candidate:
    kind: str
    module: Module
    tables: list[str | None] = field(default_factory=list)
    model_modules: set[str] = field(default_factory=set)
    # the module-level MetaData it is built on (``declarative_base(metadata=metadata)``)
    built_on: ast.expr | None = None


def scan_models(
    root: Path,
    skipped: Iterable[Path],
    sys_path_entries: Iterable[Path],
    env_py: Path | None,
) -> ProjectModels:
    """Every candidate under ``root`` (see the module's docstring)."""
    index = index_modules(root, skipped, sys_path_entries)
    candidates = _find_candidates(index)
    owners = _class_owners(index, candidates)
    _count_models(index, candidates, owners)
    _merge_metadata_into_bases(index, candidates)
    env_imports = index.imported_by_file(env_py) if env_py is not None else []
    already = index.closure(name for name, _ in env_imports)
    found = []
    for (module_name, attribute), candidate in sorted(candidates.items()):
        imported = index.closure([module_name]) if module_name in index.modules else set()
        modules = sorted(candidate.model_modules)
        unimported = tuple(m for m in modules if m not in imported and m not in already)
        roots = {
            name: index.modules[name].root
            for name in [module_name, *unimported]
            if name in index.modules
        }
        found.append(
            MetadataCandidate(
                module=module_name,
                attribute=attribute,
                kind=candidate.kind,
                tables=tuple(candidate.tables),
                model_modules=tuple(modules),
                unimported_modules=unimported,
                import_roots=tuple(sorted(roots.items())),
                path=index.modules[module_name].path if module_name in index.modules else None,
            )
        )
    return ProjectModels(
        root=root,
        candidates=tuple(found),
        files_read=index.files_read,
        env_py_imports=tuple(env_imports),
        capped=index.capped,
    )


def _last_name(expression: ast.expr) -> str | None:
    if isinstance(expression, ast.Call):
        expression = expression.func
    if isinstance(expression, ast.Name):
        return expression.id
    if isinstance(expression, ast.Attribute):
        return expression.attr
    return None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _find_candidates(index: ModuleIndex) -> dict[tuple[str, str], _Candidate]:
    candidates: dict[tuple[str, str], _Candidate] = {}
    for module in index.modules.values():
        for statement in module_level(module.tree.body):
            if isinstance(statement, ast.ClassDef):
                declarative = any(
                    _last_name(base) in _DECLARATIVE_CLASSES for base in statement.bases
                ) or any(_last_name(d) == "as_declarative" for d in statement.decorator_list)
                if declarative:
                    candidate = _Candidate(DECLARATIVE, module)
                    candidate.built_on = _class_attribute(statement, "metadata")
                    candidates[(module.name, statement.name)] = candidate
                continue
            name, value = _assigned(statement)
            if name is None or not isinstance(value, ast.Call):
                continue
            called = _last_name(value)
            if called in ("declarative_base", "generate_base"):
                candidate = _Candidate(DECLARATIVE, module)
                candidate.built_on = _keyword(value, "metadata")
            elif called == "MetaData":
                candidate = _Candidate(METADATA, module)
            elif called == "SQLAlchemy":
                candidate = _Candidate(FLASK_SQLALCHEMY, module)
                candidate.built_on = _keyword(value, "metadata")
            else:
                continue
            candidates[(module.name, name)] = candidate
    return candidates


def _assigned(statement: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target, value = statement.targets[0], statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        target, value = statement.target, statement.value
    else:
        return None, None
    return (target.id, value) if isinstance(target, ast.Name) else (None, None)


def _class_attribute(statement: ast.ClassDef, name: str) -> ast.expr | None:
    for item in statement.body:
        assigned, value = _assigned(item)
        if assigned == name:
            return value
    return None


def _class_owners(
    index: ModuleIndex, candidates: dict[tuple[str, str], _Candidate]
) -> dict[tuple[str, str], tuple[str, str]]:
    """Each class deriving from a candidate (through other classes too): its candidate."""
    classes = [
        (module, statement)
        for module in index.modules.values()
        for statement in module_level(module.tree.body)
        if isinstance(statement, ast.ClassDef)
    ]
    owners: dict[tuple[str, str], tuple[str, str]] = {}
    changed = True
    while changed:
        changed = False
        for module, statement in classes:
            key = (module.name, statement.name)
            if key in owners or key in candidates:
                continue
            for base in statement.bases:
                owner = _owner_of(index, module, base, candidates, owners)
                if owner is not None:
                    owners[key] = owner
                    changed = True
                    break
    return owners


def _owner_of(
    index: ModuleIndex,
    module: Module,
    base: ast.expr,
    candidates: dict[tuple[str, str], _Candidate],
    owners: dict[tuple[str, str], tuple[str, str]],
) -> tuple[str, str] | None:
    reference = index.resolve(module, base)
    if reference is None:
        return _SQLMODEL_KEY if _last_name(base) == "SQLModel" else None
    if reference[0] == "symbol":
        key = (reference[1], reference[2])
        if key == _SQLMODEL_KEY or (reference[2] == "SQLModel" and key[0] not in index.modules):
            return _SQLMODEL_KEY
        if key in candidates and candidates[key].kind == DECLARATIVE:
            return key
        return owners.get(key)
    if reference[0] == "attr" and reference[3] == "Model":
        key = (reference[1], reference[2])
        if key in candidates and candidates[key].kind == FLASK_SQLALCHEMY:
            return key
    return None


def _count_models(
    index: ModuleIndex,
    candidates: dict[tuple[str, str], _Candidate],
    owners: dict[tuple[str, str], tuple[str, str]],
) -> None:
    for module in index.modules.values():
        for statement in module_level(module.tree.body):
            if not isinstance(statement, ast.ClassDef):
                continue
            owner = owners.get((module.name, statement.name))
            if owner is None:
                continue
            if owner == _SQLMODEL_KEY and _SQLMODEL_KEY not in candidates:
                candidates[_SQLMODEL_KEY] = _Candidate(SQLMODEL, module)
            candidate = candidates[owner]
            is_model, table = _declared_table(index, module, statement, candidate.kind, owners)
            if is_model:
                candidate.tables.append(table)
                candidate.model_modules.add(module.name)
        if not module.mentions_table:
            continue
        for call in (node for node in ast.walk(module.tree) if isinstance(node, ast.Call)):
            found = _table_call(index, module, call, candidates)
            if found is not None:
                key, name = found
                candidates[key].tables.append(name)
                candidates[key].model_modules.add(module.name)


def _declared_table(
    index: ModuleIndex,
    module: Module,
    statement: ast.ClassDef,
    kind: str,
    owners: dict[tuple[str, str], tuple[str, str]],
) -> tuple[bool, str | None]:
    """Whether the class is a model, and the table it declares (None: not written literally)."""
    abstract = _class_attribute(statement, "__abstract__")
    if isinstance(abstract, ast.Constant) and abstract.value is True:
        return False, None
    tablename = _class_attribute(statement, "__tablename__")
    if isinstance(tablename, ast.Constant) and isinstance(tablename.value, str):
        return True, tablename.value
    if tablename is not None:
        return True, None
    if _class_attribute(statement, "__table__") is not None:
        return False, None  # its Table(...) is counted where it is called
    if kind == SQLMODEL:
        is_table = next((k.value for k in statement.keywords if k.arg == "table"), None)
        if not (isinstance(is_table, ast.Constant) and is_table.value is True):
            return False, None
        return True, statement.name.lower()
    if not _maps_columns(statement):
        return False, None
    inherits_model = any(
        (ref := index.resolve(module, base)) is not None
        and ref[0] == "symbol"
        and (ref[1], ref[2]) in owners
        for base in statement.bases
    )
    if kind == FLASK_SQLALCHEMY and not inherits_model:
        return True, _snake_case(statement.name)  # Flask-SQLAlchemy names the table after the class
    return True, None


def _maps_columns(statement: ast.ClassDef) -> bool:
    for item in statement.body:
        if isinstance(item, ast.AnnAssign) and "Mapped" in ast.unparse(item.annotation):
            return True
        _, value = _assigned(item)
        if isinstance(value, ast.Call) and _last_name(value) in _MAPPED_CALLS:
            return True
    return False


def _snake_case(name: str) -> str:
    """Flask-SQLAlchemy's ``camel_to_snake_case``."""
    return re.sub(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))", r"_\1", name).lower().lstrip("_")


def _literal(expression: ast.expr) -> str | None:
    if isinstance(expression, ast.Constant) and isinstance(expression.value, str):
        return expression.value
    return None


def _table_call(
    index: ModuleIndex,
    module: Module,
    call: ast.Call,
    candidates: dict[tuple[str, str], _Candidate],
) -> tuple[tuple[str, str], str | None] | None:
    """``Table("name", metadata, ...)``, ``Table("name", Base.metadata)``, ``db.Table("name")``:
    the candidate whose metadata holds the table, and its name."""
    if _last_name(call) != "Table" or not call.args:
        return None
    name = _literal(call.args[0])
    callee = index.resolve(module, call.func)
    if callee is not None and callee[0] == "attr":
        key = (callee[1], callee[2])
        if key in candidates and candidates[key].kind == FLASK_SQLALCHEMY:
            return key, name
    if len(call.args) < 2:
        return None
    held = _metadata_of(index, module, call.args[1], candidates)
    return (held, name) if held is not None else None


def _metadata_of(
    index: ModuleIndex,
    module: Module,
    expression: ast.expr,
    candidates: dict[tuple[str, str], _Candidate],
) -> tuple[str, str] | None:
    """The candidate whose ``MetaData`` ``expression`` is (``metadata``, ``Base.metadata``,
    ``db.metadata``, ``db.Model.metadata``, ``SQLModel.metadata``)."""
    if isinstance(expression, ast.Attribute) and expression.attr == "metadata":
        if _last_name(expression.value) == "SQLModel":
            return _SQLMODEL_KEY if _SQLMODEL_KEY in candidates else None
        inner = expression.value
        if isinstance(inner, ast.Attribute) and inner.attr == "Model":
            inner = inner.value
        reference = index.resolve(module, inner)
        if reference is not None and reference[0] == "symbol":
            key = (reference[1], reference[2])
            return key if key in candidates and candidates[key].kind != METADATA else None
        return None
    reference = index.resolve(module, expression)
    if reference is not None and reference[0] == "symbol":
        key = (reference[1], reference[2])
        return key if key in candidates and candidates[key].kind == METADATA else None
    return None


def _merge_metadata_into_bases(
    index: ModuleIndex, candidates: dict[tuple[str, str], _Candidate]
) -> None:
    """A base built on a module-level ``MetaData`` is one candidate with it: the base."""
    for key, candidate in list(candidates.items()):
        if candidate.built_on is None:
            continue
        held = _metadata_of(index, candidate.module, candidate.built_on, candidates)
        if held is None or held == key or candidates[held].kind != METADATA:
            continue
        merged = candidates.pop(held)
        candidate.tables.extend(merged.tables)
        candidate.model_modules |= merged.model_modules


def project_models(config: ProjectConfig) -> ProjectModels:
    """The candidates of the project ``config`` belongs to: every module under its root but
    the migration scripts, named as alembic's process would import them (``prepend_sys_path``
    first)."""
    script_location = config.script_location
    return scan_models(
        project_root(config.base_directory),
        skipped=(script_location, *config.version_locations),
        sys_path_entries=prepend_folders(config),
        env_py=script_location / "env.py",
    )


def prepend_folders(config: ProjectConfig) -> tuple[Path, ...]:
    """``prepend_sys_path``'s folders, as alembic puts them on ``sys.path`` (relative ones from
    the folder it runs in)."""
    return tuple(Path(entry or ".").resolve() for entry in config.prepend_sys_path)
