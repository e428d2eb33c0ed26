"""What the fixes that act on a branch of the history (rebase-heads, archive-branch) need to
know of the branches: which revisions ran somewhere, and which head's branch never did."""

from __future__ import annotations

from migdoctor.facts.model import Facts
from migdoctor.project.graph import RevisionGraph
from migdoctor.repair.journal import Journal


def never_run_head(graph: RevisionGraph, heads: tuple[str, ...], run: dict[str, str]) -> str:
    """The head whose branch never ran anywhere; of several, the newest (read last)."""
    never_run = [
        head
        for head in heads
        if not (graph.ancestors([head]) - shared_ancestors(graph, heads)) & run.keys()
    ]
    return max(never_run or heads, key=graph.position)


def shared_ancestors(graph: RevisionGraph, heads: tuple[str, ...]) -> set[str]:
    common = graph.ancestors([heads[0]])
    for head in heads[1:]:
        common &= graph.ancestors([head])
    return common


def revisions_run(facts: Facts) -> dict[str, str]:
    """Revisions known to have run somewhere, with where: this database's version rows (and all
    below them), and every revision a migration run in migdoctor's journal finished."""
    graph = facts.project.graph
    run: dict[str, str] = {}
    if facts.database is not None:
        rows = [row for row in facts.database.version_rows if row in graph]
        for revision in graph.ancestors(rows):
            run[revision] = "this database's version table shows it"
    for entry in Journal(facts.project.config.base_directory).entries():
        for event in entry.revisions_done:
            revision = str(event.get("revision"))
            run.setdefault(revision, f"journal entry {entry.id}")
    return run


def labeled_branch(graph: RevisionGraph, branch: set[str], head: str) -> str | None:
    """Why a fix leaves the branch of ``head`` (its revisions ``branch``) alone when one of them
    carries a branch label of its own, or None."""
    labeled = [revision for revision in branch if graph.scripts[revision].branch_labels]
    if not labeled:
        return None
    return (
        f"The branch of {head} carries the branch label "
        f"{', '.join(graph.scripts[labeled[0]].branch_labels)}: labeled branches are kept "
        "apart on purpose (upgrade heads runs them all)."
    )


def first_run(
    graph: RevisionGraph, branch: set[str], run: dict[str, str]
) -> tuple[str, str] | None:
    """The oldest revision of ``branch`` known to have run (see :func:`revisions_run`), and
    where, or None."""
    ran = sorted(branch & run.keys(), key=graph.position)
    return (ran[0], run[ran[0]]) if ran else None
