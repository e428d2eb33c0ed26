"""archive-branch: take a branch that never ran out of the history, keeping its files.

What it does
------------
For ``multiple-heads`` when both branches make the same change (two ``initial`` revisions written
on two machines, or a history "started over" beside the old one): moves the files of one
branch — the revisions only it holds, from where it leaves the other branch up to its head — to
``<script_location>/archived/<HEAD>/``, where alembic does not load them, byte for byte. The
other branch is left as it is and the history has one head again. The branch that goes is the
one named with ``--revision HEAD`` (an id or a unique prefix of one, as alembic reads
it), or else the one no database has run (of two, the newer).
The plan lists every file moved.

Risk
----
dangerous: the branch's migrations leave the history. A database that ran them (another
copy, production) would then name revisions no script defines. Refused when this database's
version table, or a migration run migdoctor's journal records, shows the branch was run; refused
for a branch that carries a branch label of its own (labeled branches are kept apart on
purpose). Read what the branch does first: a change it makes that the other branch does not
make is lost with it (the plan names the changes both branches make, and warns of the others).

Undo
----
``migdoctor undo`` moves every file back byte for byte (the journal keeps them), as long as none
was changed since.
"""

from __future__ import annotations

from pathlib import Path

from migdoctor.facts.model import Facts
from migdoctor.findings import Risk
from migdoctor.fixes.branches import branch_kept, choose_head
from migdoctor.fixes.edits import moved_file
from migdoctor.operations.branch_changes import change_targets, shared_changes
from migdoctor.repair.plan import FileChange, FixRequest, Plan, refused

FIX_ID = "archive-branch"
NEEDS_DATABASE = True
RISK = Risk.DANGEROUS
ARCHIVE_FOLDER = "archived"


def plan(facts: Facts, request: FixRequest) -> Plan:
    project = facts.project
    graph = project.graph
    title = "Take a branch that never ran out of the history"
    chosen = choose_head(facts, request.revision, "archive")
    if chosen.refusal is not None:
        return refused(FIX_ID, title, RISK, chosen.refusal)
    leaving, staying = chosen.head, list(chosen.others)
    branch = graph.ancestors([leaving]) - graph.ancestors(staying)
    title = f"Archive the branch of {leaving}"
    kept = branch_kept(
        graph,
        branch,
        chosen,
        action="archive",
        harm="name revisions no script defines",
        instead=staying[0],
    )
    if kept is not None:
        return refused(FIX_ID, title, RISK, kept)
    order = sorted(branch, key=graph.position)
    folder = project.config.script_location / ARCHIVE_FOLDER / leaving
    if project.config.recursive_version_locations and any(
        folder.resolve().is_relative_to(Path(location).resolve())
        for location in project.config.version_locations
    ):
        return refused(
            FIX_ID,
            title,
            RISK,
            f"{project.relative(folder)} is inside a version location alembic reads "
            "recursively: archived files there would still be loaded.",
        )
    files: list[FileChange] = []
    for revision in order:
        path = graph.scripts[revision].path
        target = folder / path.name
        if target.exists():
            return refused(
                FIX_ID, title, RISK, f"{project.relative(target)} already exists: nothing moved."
            )
        files += moved_file(project, path, target, path.read_bytes())
    return Plan(
        fix=FIX_ID,
        title=f"Archive {', '.join(order)} (the branch of {leaving})",
        risk=RISK,
        files=tuple(files),
        warnings=_warnings(facts, leaving, staying, order),
        arguments={"revision": leaving},
    )


def _warnings(facts: Facts, leaving: str, staying: list[str], order: list[str]) -> tuple[str, ...]:
    """What the branch changes that the other branch changes too, and what it alone does
    (lost with it unless the other branch does it as well)."""
    graph = facts.project.graph
    made_by_both = {
        change.what for change in shared_changes(graph, (leaving, *staying), facts.operations)
    }
    only_here = [
        f"{revision}: {operation.describe()}"
        for revision in order
        if revision in facts.operations
        for operation in facts.operations[revision].operations
        if not (set(change_targets(operation)) & made_by_both)
    ]
    warnings = []
    if made_by_both:
        warnings.append(
            f"The other branch makes the same change to {', '.join(sorted(made_by_both))}."
        )
    if only_here:
        more = len(only_here) - 5
        shown = "; ".join(only_here[:5]) + (f"; and {more} more" if more > 0 else "")
        warnings.append(
            f"What the branch does that the other does not change: {shown}. Check that the "
            "other branch does it too, or move it there, before archiving."
        )
    warnings.append(
        "Commit the move, so every copy of the project agrees: a database that ran the "
        'archived revisions elsewhere would fail with "Can\'t locate revision".'
    )
    return tuple(warnings)
