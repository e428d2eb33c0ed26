"""renumber-revision: give the copy of a duplicated revision id an id of its own, after the head.

What it does
------------
For ``duplicate-revision``, takes the file alembic ignores (or the one named with
``--path``), gives it a fresh id (alembic's kind: 12 hex digits) in its ``revision`` line, its
docstring's ``Revision ID:`` and its file name, and makes it come after the history's head
(``--onto`` names another parent), so that the next upgrade runs the migration every database
skipped. Every other byte of the file stays as it was; the plan shows the diff.

Risk
----
dangerous: it changes the history: the copy's upgrade() will run on every database at the
next upgrade, which is right when the two files are different migrations and wrong when the copy
is the same migration (then delete the copy instead). Refused when the database records the id
or a revision after it (the upgrade() of either file may have run there: which one cannot be
told from the id), unless ``--force``.

Undo
----
``migdoctor undo`` removes the renamed file and writes the original back, byte for byte
(the journal keeps it), as long as neither was changed since.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from migdoctor.facts.model import Facts
from migdoctor.findings import Risk
from migdoctor.fixes.edits import edited_file, renamed_file
from migdoctor.project.header_edit import rewrite_header
from migdoctor.repair.plan import FixRequest, Plan, refused

FIX_ID = "renumber-revision"
NEEDS_DATABASE = True
RISK = Risk.DANGEROUS


def plan(facts: Facts, request: FixRequest) -> Plan:
    project = facts.project
    graph = project.graph
    title = "Give the copy of a duplicated revision an id of its own"
    duplicated = request.revision or (next(iter(graph.duplicates)) if graph.duplicates else None)
    if duplicated is None or duplicated not in graph.duplicates:
        reason = (
            f"{duplicated} is declared by one file only: nothing to renumber."
            if duplicated
            else "No revision id is declared twice: nothing to renumber."
        )
        return refused(FIX_ID, title, RISK, reason)
    paths = graph.duplicates[duplicated]
    used = graph.scripts[duplicated].path
    copy = _the_copy(paths, used, request.path)
    if isinstance(copy, str):
        return refused(FIX_ID, title, RISK, copy)
    title = f"Give {project.relative(copy)} an id of its own instead of {duplicated}"
    applied = _applied_here(facts, duplicated)
    if applied and not request.force:
        return refused(
            FIX_ID,
            title,
            RISK,
            f"The database records {applied}, so the upgrade() of {duplicated} ran there, and "
            f"which of the {len(paths)} files it was cannot be told from the id. Compare the "
            "files with the schema first; --force renumbers the copy anyway.",
        )
    heads = graph.heads
    onto = request.onto or (heads[0] if len(heads) == 1 else None)
    if onto is None:
        return refused(
            FIX_ID,
            title,
            RISK,
            f"The history has {len(heads)} heads ({', '.join(heads)}): name the revision the "
            "renumbered copy comes after with --onto.",
        )
    try:
        (onto,) = graph.resolve(onto)
    except (LookupError, ValueError) as error:
        return refused(FIX_ID, title, RISK, f"--onto: {error or 'name exactly one revision'}.")
    new_id = uuid.uuid4().hex[-12:]
    source = copy.read_bytes()
    try:
        renumbered = rewrite_header(source, revision=new_id, down_revisions=(onto,))
    except (ValueError, SyntaxError) as error:
        return refused(FIX_ID, title, RISK, f"{project.relative(copy)}: {error}.")
    new_path = copy.with_name(copy.name.replace(duplicated, new_id, 1))
    if new_path != copy and new_path.exists():
        return refused(FIX_ID, title, RISK, f"{project.relative(new_path)} already exists.")
    return Plan(
        fix=FIX_ID,
        title=f"Give {project.relative(copy)} the id {new_id}, after {onto}",
        risk=RISK,
        files=(
            renamed_file(project, copy, new_path, source, renumbered)
            if new_path != copy
            else (edited_file(project, copy, source, renumbered),)
        ),
        warnings=(
            f"Its upgrade() has never run anywhere alembic used {project.relative(used)}: the "
            f"next upgrade runs it after {onto}. If it is the same migration as "
            f"{project.relative(used)}, delete the copy instead.",
            "Commit the renamed file, so every copy of the project agrees.",
        ),
        arguments={"revision": duplicated, "new_revision": new_id, "onto": onto},
    )


def _the_copy(paths: list[Path], used: Path, named: str | None) -> Path | str:
    """The file to renumber, or why none can be chosen."""
    if named is not None:
        wanted = Path(named).absolute()
        found = [path for path in paths if path.absolute() == wanted]
        if not found:
            listed = ", ".join(str(path) for path in paths)
            return f"--path {named} is not one of the files that declare the id: {listed}."
        return found[0]
    ignored = [path for path in paths if path != used]
    if len(ignored) != 1:
        return "Several copies: name the one to renumber with --path."
    return ignored[0]


def _applied_here(facts: Facts, revision: str) -> str:
    """The version row that shows ``revision`` applied on this database ("" when none)."""
    if facts.database is None:
        return ""
    graph = facts.project.graph
    for row in facts.database.version_rows:
        if row == revision or (row in graph and revision in graph.ancestors([row])):
            return row
    return ""
