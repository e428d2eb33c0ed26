"""wire-target-metadata: make env.py hand the models' MetaData to autogenerate.

What it does
------------
Finds the models' ``MetaData`` in the project's modules by reading their syntax trees (it
never imports them): declarative bases, ``MetaData()`` globals, Flask-SQLAlchemy's ``db``,
``SQLModel``. The candidate whose models declare the tables the history creates wins; when
several could be meant it lists them and asks for ``--metadata module:attribute``. Then it
edits env.py: the ``target_metadata = None`` line becomes the import of the base and
``target_metadata = Base.metadata`` (with a ``sys.path`` entry computed from env.py's own
location when ``prepend_sys_path`` does not make the module importable, and an import of each
module declaring models that nothing imports yet). When env.py already passes a ``MetaData``
with no tables, only the imports of the model modules are added. The rest of env.py stays
byte for byte. Once written, env.py is run again in a new process: if its ``target_metadata``
still holds no tables, the file is put back as it was and the fix fails, saying why.

Risk
----
caution: it edits env.py, which every alembic command runs, but touches no table and no row.
Read the diff: an import of an application module runs that module's top-level code whenever
alembic starts (as it does for every project that wires its models).

Undo
----
The journal keeps env.py's original bytes; ``migdoctor undo`` writes them back, byte for
byte, provided env.py was not edited since.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

from migdoctor.facts.model import Facts
from migdoctor.findings import Risk
from migdoctor.fixes.edits import edited_file
from migdoctor.project.model_candidates import MetadataCandidate, ProjectModels
from migdoctor.repair.plan import FixRequest, Plan, nothing_to_do, refused

FIX_ID = "wire-target-metadata"
NEEDS_DATABASE = True  # target_metadata is learned by running env.py
RISK = Risk.CAUTION
_MARK = "# migdoctor wire-target-metadata: the models' MetaData, for autogenerate"


def plan(facts: Facts, request: FixRequest) -> Plan:
    title = "Pass the models' MetaData to autogenerate in env.py"
    database = facts.database
    if database is None or database.target_metadata is None or facts.models is None:
        if database is not None and database.target_metadata is not None:
            tables = len(database.target_metadata.tables)
            return nothing_to_do(
                FIX_ID, title, RISK, f"env.py already passes a MetaData with {tables} tables."
            )
        return refused(FIX_ID, title, RISK, "What env.py passes as target_metadata is unknown.")
    chosen = choose_candidate(facts.models, history_tables(facts), request.metadata)
    if isinstance(chosen, str):
        return refused(FIX_ID, title, RISK, chosen)
    title = f"Pass {chosen.reference}'s MetaData to autogenerate in env.py"
    env_py = facts.project.config.script_location / "env.py"
    source = env_py.read_bytes()
    covered = covered_folders(facts, source)
    try:
        edited = wire(source, chosen, database.target_metadata.is_none, env_py, covered)
    except ValueError as error:
        return refused(FIX_ID, title, RISK, f"{facts.project.relative(env_py)}: {error}")
    warnings = [
        f"{chosen.reference}: {chosen.models} model(s) in "
        f"{', '.join(chosen.model_modules) or chosen.module}.",
        "env.py is run again once written; if target_metadata still holds no tables it is "
        "put back as it was.",
        "Then run alembic revision --autogenerate and read the generated file before applying "
        "it; commit env.py.",
    ]
    if facts.models.capped:
        warnings.append(f"The search for models {facts.models.capped}.")
    return Plan(
        fix=FIX_ID,
        title=title,
        risk=RISK,
        files=(edited_file(facts.project, env_py, source, edited),),
        warnings=tuple(warnings),
        arguments={"metadata": chosen.reference},
        verify_target_metadata=True,
    )


def history_tables(facts: Facts) -> frozenset[str]:
    """The tables the history creates (or renames a table to)."""
    names: set[str] = set()
    for recorded in facts.operations.values():
        for operation in recorded.operations:
            if operation.kind == "create_table" and operation.table:
                names.add(operation.table)
            elif operation.kind == "rename_table" and operation.name:
                names.add(operation.name)
    return frozenset(names)


def choose_candidate(
    models: ProjectModels, history: frozenset[str], wanted: str | None
) -> MetadataCandidate | str:
    """The candidate to wire, or why none can be chosen (the list of candidates, when the
    choice is the user's).

    Without ``wanted``: the only candidate with models; else the one whose models declare the
    tables the history creates, when every other one's matching tables are a part of its own;
    else, when no candidate matches the history at all, the one with the most models."""
    if wanted is not None:
        found = models.candidate(wanted)
        if found is None:
            listed = _listing(models.candidates, history)
            return (
                f"--metadata {wanted} names no declarative base, MetaData, Flask-SQLAlchemy db "
                f"or SQLModel found under {models.root} (write it as module:attribute)."
                + (f" Found:\n{listed}" if listed else "")
            )
        if not found.models:
            return f"{wanted} declares no models: there would still be no table to compare."
        return found
    good = sorted(
        models.with_models,
        key=lambda c: (len(c.matching(history)), c.models, c.reference),
        reverse=True,
    )
    if not good:
        empty = ", ".join(c.reference for c in models.candidates)
        return (
            f"No models were found under {models.root} ({models.files_read} Python files read"
            + (f"; {models.capped}" if models.capped else "")
            + ")"
            + (f": {empty} declare no table" if empty else "")
            + ". Wire target_metadata by hand (see migdoctor explain no-target-metadata)."
        )
    top, others = good[0], good[1:]
    if not others:
        return top
    matched = top.matching(history)
    if matched and all(other.matching(history) < matched for other in others):
        return top
    if not any(c.matching(history) for c in good) and top.models > others[0].models:
        return top
    return (
        "Several MetaData could be the models' (models; tables the history creates that they "
        f"declare, of {len(history)}):\n{_listing(good, history)}\n"
        "Choose one: migdoctor fix wire-target-metadata --metadata module:attribute"
    )


def _listing(
    candidates: tuple[MetadataCandidate, ...] | list[MetadataCandidate], history: frozenset[str]
) -> str:
    return "\n".join(
        f"    {c.reference}  {c.kind}, {c.models} model(s), "
        f"{len(c.matching(history))} matching the history"
        for c in candidates
    )


def covered_folders(facts: Facts, env_source: bytes) -> frozenset[Path]:
    """Folders from which env.py can already import: ``prepend_sys_path``'s, those of the
    project modules env.py imports, and for Flask-Migrate (env.py reads ``current_app``) the
    folder the application is loaded from."""
    from migdoctor.project.models_scan import prepend_folders

    folders = set(prepend_folders(facts.project.config))
    if facts.models is not None:
        folders |= {root.resolve() for _, root in facts.models.env_py_imports}
    if b"current_app" in env_source:
        folders.add(Path.cwd().resolve())
    return frozenset(folders)


def wire(
    source: bytes,
    candidate: MetadataCandidate,
    is_none: bool,
    env_py: Path,
    covered: frozenset[Path],
) -> bytes:
    """``source`` (env.py) passing ``candidate``'s MetaData; ValueError when it cannot be
    edited safely."""
    tree = ast.parse(source)
    newline = b"\r\n" if b"\r\n" in source else b"\n"
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    assignments = [s for s in tree.body if _assigns_target_metadata(s)]
    bound = _bound_names(tree)
    if is_none:
        nones = [s for s in assignments if _is_none_value(s)]
        if len(nones) != 1:
            raise ValueError(
                "no single module-level `target_metadata = None` line to replace; set "
                f"target_metadata to {candidate.reference}'s metadata by hand."
            )
        statement = nones[0]
        modules = [candidate.module, *candidate.unimported_modules]
        name = candidate.attribute
        if name in bound:
            name = f"models_{name}"
        alias = f" as {name}" if name != candidate.attribute else ""
        imports = [f"from {candidate.module} import {candidate.attribute}{alias}  # noqa: E402"]
        imports += [
            f"import {m}  # noqa: E402, F401 - declares models"
            for m in candidate.unimported_modules
        ]
        expression = (
            name if candidate.metadata_expression == candidate.attribute else f"{name}.metadata"
        )
        block = [_MARK, *_sys_path_lines(candidate, modules, env_py, covered), *imports]
        block.append(f"target_metadata = {expression}")
        assert statement.end_lineno is not None
        start, end = offsets[statement.lineno - 1], offsets[statement.end_lineno]
        replacement = newline.join(line.encode() for line in block) + newline
        return source[:start] + replacement + source[end:]
    if not candidate.unimported_modules:
        raise ValueError(
            f"every module declaring {candidate.reference}'s models is imported already, yet "
            "target_metadata holds no tables: env.py probably passes another MetaData. Set "
            f"target_metadata = {candidate.attribute}.metadata (from {candidate.module}) by hand."
        )
    modules = list(candidate.unimported_modules)
    block = [_MARK, *_sys_path_lines(candidate, modules, env_py, covered)]
    block += [f"import {m}  # noqa: E402, F401 - declares models" for m in modules]
    if not assignments:
        # no assignment to put them before (Flask-Migrate's env.py): after the last import, or
        # after the application is first asked for, so that its folder is on sys.path then
        anchors = [s for s in tree.body if _is_import_or_asks_for_application(s)]
        if not anchors:
            raise ValueError("no module-level import to add the models' imports after.")
        end_line = anchors[-1].end_lineno
        assert end_line is not None
        at = offsets[end_line]
    else:
        at = offsets[assignments[0].lineno - 1]
    insertion = newline.join(line.encode() for line in block) + newline
    return source[:at] + insertion + source[at:]


def _is_import_or_asks_for_application(statement: ast.stmt) -> bool:
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return True
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return False
    return any(
        isinstance(node, ast.Name) and node.id == "current_app" for node in ast.walk(statement)
    )


def _assigns_target_metadata(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == "target_metadata" for t in statement.targets)
    if isinstance(statement, ast.AnnAssign):
        return isinstance(statement.target, ast.Name) and statement.target.id == "target_metadata"
    return False


def _is_none_value(statement: ast.stmt) -> bool:
    value = statement.value if isinstance(statement, (ast.Assign, ast.AnnAssign)) else None
    return isinstance(value, ast.Constant) and value.value is None


def _bound_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _sys_path_lines(
    candidate: MetadataCandidate, modules: list[str], env_py: Path, covered: frozenset[Path]
) -> list[str]:
    """The ``sys.path`` entries that make ``modules`` importable, relative to env.py's own
    location; none for folders already on alembic's ``sys.path``."""
    roots = dict(candidate.import_roots)
    needed = sorted(
        {roots[m].resolve() for m in modules if m in roots} - covered, key=lambda p: str(p)
    )
    if not needed:
        return []
    here = env_py.resolve().parent
    lines = ["import pathlib  # noqa: E402", "import sys  # noqa: E402"]
    for folder in needed:
        lines.append(f"sys.path.insert(0, str({_relative_to_env_py(folder, here)}))")
    return lines


def _relative_to_env_py(folder: Path, here: Path) -> str:
    """``folder`` as an expression from env.py's ``__file__``."""
    parts = Path(os.path.relpath(folder, here)).parts
    ups = 0
    while ups < len(parts) and parts[ups] == "..":
        ups += 1
    base = "pathlib.Path(__file__).resolve()"
    expression = f"{base}.parents[{ups}]" if ups else f"{base}.parent"
    for part in parts[ups:]:
        if part != ".":
            expression += f" / {part!r}"
    return expression
