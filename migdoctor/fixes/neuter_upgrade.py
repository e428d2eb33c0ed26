"""neuter-upgrade: replace the body of a pending revision's ``upgrade()`` with ``pass``, and
the body of its ``downgrade()`` too.

What it does
------------
Edits the revision file: both bodies become ``pass``, with a comment in each saying what was
removed and when; the signatures, the docstrings and the rest of the file stay byte for byte. A
neutered upgrade creates nothing, so its downgrade must drop nothing: left as it was, it would
drop the table that already existed (with its rows) as soon as the revision is downgraded, by
``migdoctor undo`` of a later upgrade or by ``downgrade``. No database is changed.

Risk
----
dangerous: it changes the migration history itself; a fresh database built from the history
would lack what the body created.

Undo
----
``migdoctor undo`` writes back the file's original bytes, which the journal keeps, only while
the file is still exactly what the fix wrote. When the database is already past that revision,
it warns that downgrading it would then drop what its upgrade did not create there.
"""

from __future__ import annotations

import ast
import textwrap
from datetime import date
from pathlib import Path

from migdoctor.facts.model import Facts
from migdoctor.findings import Risk
from migdoctor.fixes.edits import edited_file
from migdoctor.repair.plan import FixRequest, Plan, refused

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
    removed_down = _downgrade_description(facts, script.path)
    try:
        neutered = neuter_source(source, removed, date.today().isoformat(), removed_down)
    except ValueError as error:
        return refused(FIX_ID, title, RISK, f"{facts.project.relative(script.path)}: {error}")
    return Plan(
        fix=FIX_ID,
        title=title,
        risk=RISK,
        files=(edited_file(facts.project, script.path, source, neutered),),
        warnings=(
            f"A fresh database built from the history would lack what {revision} created: "
            + (removed or "its upgrade() body")
            + ".",
            *(
                (
                    f"Its downgrade() is emptied too, so downgrading {revision} drops nothing it "
                    "did not create here"
                    + (f" (it would {removed_down})" if removed_down else "")
                    + ".",
                )
                if _has_body(source, "downgrade")
                else ()
            ),
            "Commit the edited file, so every copy of the project agrees.",
        ),
        arguments={"revision": revision},
    )


def _removed_description(facts: Facts, revision: str) -> str:
    recorded = facts.operations.get(revision)
    if recorded is None or not recorded.operations:
        return ""
    return "; ".join(op.describe() for op in recorded.operations)


def _downgrade_description(facts: Facts, path: Path) -> str:
    """What the file's ``downgrade()`` does, in words ("" when it cannot be recorded)."""
    from sqlalchemy.engine import make_url

    from migdoctor.operations.recorder import CannotRecord, record_downgrade

    if facts.database is None:
        return ""
    try:
        dialect = make_url(f"{facts.database.dialect}://").get_dialect()()
        operations = record_downgrade(path, dialect)
    except (CannotRecord, ImportError, ValueError):
        return ""
    return "; ".join(op.describe() for op in operations)


def neuter_source(source: bytes, removed: str, day: str, removed_down: str = "") -> bytes:
    """``source`` with the bodies of its module-level ``upgrade()`` and ``downgrade()`` replaced
    by ``pass`` (a missing or already empty ``downgrade()`` is left as it is)."""
    what = f" ({removed})" if removed else ""
    note = (
        f"migdoctor neuter-upgrade, {day}: the body of upgrade() was removed because the "
        f"database already has what it creates{what}. The original is in "
        ".migdoctor/journal.jsonl; `migdoctor undo` restores it."
    )
    neutered = _replace_body(source, "upgrade", note)
    if neutered is None:
        raise ValueError("upgrade() is already empty")
    what = f" ({removed_down})" if removed_down else ""
    note = (
        f"migdoctor neuter-upgrade, {day}: the body of downgrade() was removed with upgrade()'s: "
        f"it would drop what upgrade() no longer creates{what}. The original is in "
        ".migdoctor/journal.jsonl; `migdoctor undo` restores it."
    )
    try:
        return _replace_body(neutered, "downgrade", note) or neutered
    except ValueError:  # no downgrade(): nothing to empty
        return neutered


def _replace_body(source: bytes, name: str, note: str) -> bytes | None:
    """``source`` with the body of module-level function ``name`` replaced by ``note`` (as a
    comment) and ``pass``; None when the body is already empty. ValueError when not found."""
    tree = ast.parse(source)
    function = next(
        (
            node
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name
        ),
        None,
    )
    if function is None:
        raise ValueError(f"no {name}() function at module level")
    body = list(function.body)
    if body and _is_docstring(body[0]):
        body = body[1:]
    if not body or all(isinstance(statement, ast.Pass) for statement in body):
        return None
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
    width = max(40, 88 - len(indent))
    comment = [f"# {line}".encode() for line in textwrap.wrap(note, width=width)]
    replacement = (newline + indent).join([*comment, b"pass"])
    return source[:start] + replacement + source[end:]


def _has_body(source: bytes, name: str) -> bool:
    try:
        return _replace_body(source, name, "") is not None
    except ValueError:
        return False


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )
