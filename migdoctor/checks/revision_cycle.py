"""revision-cycle: revisions build on each other in a circle.

What it detects
---------------
Following ``down_revision`` (and ``depends_on``) from revision to revision comes back to where
it started, so the history has no beginning. alembic refuses every command with
``Cycle is detected in revisions (...)`` or ``Dependency cycle is detected in revisions (...)``.

Why it matters
--------------
alembic cannot order the revisions, so nothing can be upgraded, downgraded or even listed. The
cycle is almost always a hand edit gone wrong: a ``down_revision`` changed while rebasing or
resolving a merge conflict, or a ``depends_on`` that points at a later revision.

How to fix
----------
migdoctor shows the cycle as a path, each revision followed by the one it names. One of those
links is wrong: usually the one whose file was edited last (``git log -p`` on the files shows
it). Set that ``down_revision`` (or ``depends_on``) back to the revision that really comes
before it.
"""

from __future__ import annotations

from itertools import pairwise

from migdoctor.checks import check
from migdoctor.facts.model import Facts
from migdoctor.findings import Finding, Severity
from migdoctor.project.graph import RevisionGraph

SLUG = "revision-cycle"
CODE = "MD204"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=False,
    healthy="the history has no cycle",
)
def revisions_form_a_cycle(facts: Facts) -> list[Finding]:
    project = facts.project
    graph = project.graph
    if not graph.cycle:
        return []
    path = cycle_path(graph)
    links = [
        {
            "revision": revision,
            "path": project.relative(graph.scripts[revision].path),
            "names": following,
            "as": "down_revision" if following in graph.down[revision] else "depends_on",
        }
        for revision, following in pairwise(path)
    ]
    # revisions that build on the cycle (or lie on another one) cannot be ordered either
    also_stuck = [revision for revision in graph.cycle if revision not in path]
    through_dependency = any(link["as"] == "depends_on" for link in links)
    message = (
        f"Revisions {' → '.join(path)} form a cycle: each names the next as its "
        f"{'down_revision or depends_on' if through_dependency else 'down_revision'}, so the "
        f"history has no beginning. alembic fails on every command with "
        f'"{"Dependency cycle" if through_dependency else "Cycle"} is detected in revisions".'
    )
    if also_stuck:
        message += (
            f" {len(also_stuck)} other revision(s) cannot be ordered either: "
            f"{', '.join(also_stuck)}."
        )
    return [
        Finding(
            check=SLUG,
            code=CODE,
            severity=Severity.ERROR,
            title="Revisions build on each other in a circle",
            message=message,
            evidence={"cycle": path, "links": links, "also_stuck": also_stuck},
            locations=project.revision_locations(path[:-1]),
        )
    ]


def cycle_path(graph: RevisionGraph) -> list[str]:
    """One cycle as a path that ends where it starts (``a → b → c → a``), beginning with the
    revision on it that alembic reads first.

    Every revision in ``graph.cycle`` has a parent there too (that is why it could not be
    ordered), so following such parents must come back to a revision already seen.
    """
    stuck = set(graph.cycle)
    walked: list[str] = []
    index: dict[str, int] = {}
    revision = graph.cycle[0]
    while revision not in index:
        index[revision] = len(walked)
        walked.append(revision)
        revision = next(parent for parent in graph.parents(revision) if parent in stuck)
    loop = walked[index[revision] :]
    first = min(range(len(loop)), key=lambda i: graph.position(loop[i]))
    loop = loop[first:] + loop[:first]
    return [*loop, loop[0]]
