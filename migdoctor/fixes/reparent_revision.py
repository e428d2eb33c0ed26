"""reparent-revision: point a revision whose parent no file defines at a revision that exists.

What it does
------------
For ``missing-down-revision``, rewrites the revision's ``down_revision`` (and its
docstring's ``Revises:`` line), replacing the id no file defines by ``--onto REV``, or else by
the best candidate: the id the missing one looks like (a typo made while resolving a merge
conflict), then the revision created just before it (by the ``Create Date`` of the files)
that is not already below it. Every other byte of the file stays as it was; the plan shows the
diff and the candidates.

Risk
----
dangerous: it changes the history: where the revision comes in the order of migrations.
When the parent's file was deleted, restoring that file is the better repair (``git log --all
-- '*<id>*'`` finds it); reparent only when the parent is gone on purpose or the id is a typo.

Undo
----
``migdoctor undo`` writes the file back byte for byte (the journal keeps it), as long as
it was not changed since.
"""

from __future__ import annotations

import re
from datetime import datetime

from migdoctor.facts.model import Facts
from migdoctor.findings import Risk
from migdoctor.fixes.edits import edited_file
from migdoctor.project.graph import RevisionGraph
from migdoctor.project.header_edit import rewrite_header
from migdoctor.project.scripts import RevisionScript
from migdoctor.repair.plan import FixRequest, Plan, refused

FIX_ID = "reparent-revision"
NEEDS_DATABASE = False
RISK = Risk.DANGEROUS

_CREATE_DATE = re.compile(r"^Create Date:\s*(\S+ \S+|\S+)", re.MULTILINE)


def plan(facts: Facts, request: FixRequest) -> Plan:
    project = facts.project
    graph = project.graph
    title = "Point a revision at a parent that exists"
    broken = [ref for ref in graph.missing if ref.via == "down_revision"]
    if request.revision:
        broken = [ref for ref in broken if ref.revision == request.revision]
    if not broken:
        return refused(
            FIX_ID,
            title,
            RISK,
            f"{request.revision}'s down_revision names only revisions that exist."
            if request.revision
            else "Every down_revision names a revision that exists: nothing to reparent.",
        )
    if len({ref.revision for ref in broken}) > 1:
        listed = ", ".join(sorted({ref.revision for ref in broken}))
        return refused(
            FIX_ID,
            title,
            RISK,
            f"Several revisions have a missing parent ({listed}): name one with --revision.",
        )
    revision, missing = broken[0].revision, broken[0].missing
    script = graph.scripts[revision]
    title = f"Point {revision} at a parent that exists instead of {missing}"
    candidates = parent_candidates(graph, script, missing)
    chosen = request.onto or (candidates[0] if candidates else None)
    if chosen is None:
        return refused(
            FIX_ID,
            title,
            RISK,
            f"No revision looks like {missing} and none was created before {revision}: name "
            "the new parent with --onto REV.",
        )
    try:
        (onto,) = graph.resolve(chosen)
    except (LookupError, ValueError) as error:
        return refused(FIX_ID, title, RISK, f"--onto: {error or 'name exactly one revision'}.")
    if onto == revision or onto in graph.descendants([revision]):
        return refused(
            FIX_ID, title, RISK, f"{onto} comes after {revision}: that would make a cycle."
        )
    parents = tuple(onto if parent == missing else parent for parent in script.down_revisions)
    source = script.path.read_bytes()
    try:
        edited = rewrite_header(source, down_revisions=tuple(dict.fromkeys(parents)))
    except (ValueError, SyntaxError) as error:
        return refused(FIX_ID, title, RISK, f"{project.relative(script.path)}: {error}.")
    others = [candidate for candidate in candidates if candidate != onto]
    return Plan(
        fix=FIX_ID,
        title=f"Point {revision} at {onto} instead of {missing}",
        risk=RISK,
        files=(edited_file(project, script.path, source, edited),),
        warnings=(
            f"{revision} will run after {onto}. If {missing}'s file was deleted by mistake, "
            "restore it instead (git log --all -- '*" + missing + "*' finds it).",
            *((f"Other candidates: {', '.join(others)} (--onto REV).",) if others else ()),
            "Commit the edited file, so every copy of the project agrees.",
        ),
        arguments={"revision": revision, "missing": missing, "onto": onto},
    )


def parent_candidates(graph: RevisionGraph, script: RevisionScript, missing: str) -> list[str]:
    """Revisions ``script``'s missing parent may stand for, best first: those its id looks
    like, then the newest revision created before it (by Create Date) that is neither below
    nor after it."""
    below_or_after = graph.ancestors([script.revision]) | graph.descendants([script.revision])
    candidates = [similar for similar in graph.looks_like(missing) if similar not in below_or_after]
    created = _created(script)
    if created is not None:
        earlier = [
            (when, other.revision)
            for other in graph.scripts.values()
            if other.revision not in below_or_after
            and (when := _created(other)) is not None
            and when < created
        ]
        if earlier:
            newest = max(earlier)[1]
            if newest not in candidates:
                candidates.append(newest)
    return candidates


def _created(script: RevisionScript) -> datetime | None:
    """The ``Create Date`` alembic's template writes into the docstring."""
    match = _CREATE_DATE.search(script.longdoc)
    if match is None:
        return None
    try:
        # compared naive: templates differ on whether they write a time zone
        return datetime.fromisoformat(match[1]).replace(tzinfo=None)
    except ValueError:
        return None
