"""neuter-upgrade: replace the body of a pending revision's ``upgrade()`` with ``pass``.

The signature, the docstring and the rest of the file stay byte for byte; a comment says what was
removed and when, and the journal keeps the original bytes for ``migdoctor undo``. Dangerous: a
fresh database built from the history would lack what the body created.
"""

from __future__ import annotations

import ast
import difflib
import textwrap
from datetime import date

from migdoctor.facts import Facts
from migdoctor.findings import Risk
from migdoctor.fixes.plan import FileChange, FixRequest, Plan, refused

FIX_ID = "neuter-upgrade"
NEEDS_DATABASE = True
RISK = Risk.DANGEROUS


def plan(facts: Facts, request: FixRequest) -> Plan:
    graph = facts.project.graph
    title = (
        f"Replace the body of {request.revision}'s upgrade() with pass"
        if request.revision
        else "Replace the body of a revision's upgrade() with pass"
    )
    if not request.revision:
        return refused(FIX_ID, title, RISK, "neuter-upgrade needs --revision REV.")
    try:
        (revision,) = graph.resolve(request.revision)
    except (LookupError, ValueError) as error:
        return refused(FIX_ID, title, RISK, f"{error or 'Name exactly one revision'}.")
    title = f"Replace the body of {revision}'s upgrade() with pass"
    pending = facts.pending
    if pending is None:
        return refused(
            FIX_ID, title, RISK, "Which revisions are pending is unknown (see unknown-revision)."
        )
    if revision not in pending:
        return refused(
            FIX_ID,
            title,
            RISK,
            f"{revision} is not pending on this database: only revisions that have not run yet "
            "can be neutered.",
        )
    script = graph.scripts[revision]
    source = script.path.read_bytes()
    removed = _removed_description(facts, revision)
    try:
        neutered = neuter_source(source, removed, date.today().isoformat())
    except ValueError as error:
        return refused(FIX_ID, title, RISK, f"{facts.project.relative(script.path)}: {error}")
    relative = facts.project.relative(script.path)
    diff = "".join(
        difflib.unified_diff(
            source.decode("utf-8", "replace").splitlines(keepends=True),
            neutered.decode("utf-8", "replace").splitlines(keepends=True),
            fromfile=f"a/{relative}",
            tofile=f"b/{relative}",
        )
    )
    return Plan(
        fix=FIX_ID,
        title=title,
        risk=RISK,
        files=(FileChange(script.path, source, neutered, diff),),
        warnings=(
            f"A fresh database built from the history would lack what {revision} created: "
            + (removed or "its upgrade() body")
            + ".",
            "Commit the edited file, so every copy of the project agrees.",
        ),
        arguments={"revision": revision},
    )


def _removed_description(facts: Facts, revision: str) -> str:
    recorded = facts.operations.get(revision)
    if recorded is None or not recorded.operations:
        return ""
    return "; ".join(op.describe() for op in recorded.operations)


def neuter_source(source: bytes, removed: str, day: str) -> bytes:
    """``source`` with the body of its module-level ``upgrade()`` replaced by ``pass``."""
    tree = ast.parse(source)
    function = next(
        (
            node
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "upgrade"
        ),
        None,
    )
    if function is None:
        raise ValueError("no upgrade() function at module level")
    body = list(function.body)
    if body and _is_docstring(body[0]):
        body = body[1:]
    if not body or all(isinstance(statement, ast.Pass) for statement in body):
        raise ValueError("upgrade() is already empty")
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    first, last = body[0], body[-1]
    start = offsets[first.lineno - 1] + first.col_offset
    assert last.end_lineno is not None and last.end_col_offset is not None
    end = offsets[last.end_lineno - 1] + last.end_col_offset
    indent = lines[first.lineno - 1][: first.col_offset]
    newline = b"\r\n" if lines[first.lineno - 1].endswith(b"\r\n") else b"\n"
    what = f" ({removed})" if removed else ""
    note = (
        f"migdoctor neuter-upgrade, {day}: the body of upgrade() was removed because the "
        f"database already has what it creates{what}. The original is in "
        ".migdoctor/journal.jsonl; `migdoctor undo` restores it."
    )
    width = max(40, 88 - len(indent))
    comment = [f"# {line}".encode() for line in textwrap.wrap(note, width=width)]
    replacement = (newline + indent).join([*comment, b"pass"])
    return source[:start] + replacement + source[end:]


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )
