"""What the fixes that act on one branch of the history (rebase-heads, archive-branch) decide
alike: which head's branch they act on (:func:`choose_head`), and when they leave a branch alone
(:func:`branch_kept`), in the same words for each fix."""

from __future__ import annotations

from dataclasses import dataclass, field

from migdoctor.facts.model import Facts
from migdoctor.project.graph import RevisionGraph
from migdoctor.repair.journal import Journal


@dataclass(frozen=True)
class ChosenHead:
    """The head whose branch a fix acts on, the other heads and the revisions known to have run
    (with where, :func:`revisions_run`); or, with ``refusal``, why no head could be chosen."""

    head: str = ""
    others: tuple[str, ...] = ()
    run: dict[str, str] = field(default_factory=dict)
    refusal: str | None = None


def choose_head(facts: Facts, requested: str | None, action: str) -> ChosenHead:
    """The head whose branch a fix will ``action`` (rebase, archive): ``requested`` (its
    ``--revision``, read by :func:`head_named`) when given, else the head whose branch no
    database ran (:func:`never_run_head`). Refused when there is only one head, or when
    ``requested`` names no head."""
    graph = facts.project.graph
    heads = graph.heads
    if len(heads) < 2:
        return ChosenHead(refusal=f"There is only one head: no branch to {action}.")
    run = revisions_run(facts)
    head = (
        never_run_head(graph, heads, run)
        if requested is None
        else head_named(graph, requested, heads)
    )
    if head is None:
        return ChosenHead(refusal=not_a_head("--revision", str(requested), heads))
    return ChosenHead(head, tuple(other for other in heads if other != head), run)


def head_named(graph: RevisionGraph, given: str, heads: tuple[str, ...]) -> str | None:
    """The one of ``heads`` that ``given`` names as alembic reads it (an id, a unique prefix of
    one, ``label@head``), or None."""
    try:
        named = graph.resolve(given)
    except LookupError:
        return None
    return named[0] if len(named) == 1 and named[0] in heads else None


def not_a_head(option: str, given: str, heads: tuple[str, ...]) -> str:
    """The refusal of a head option (``--revision``, ``--onto``) naming none of ``heads``."""
    return f"{option} {given} is not one of the heads {', '.join(heads)}."


def already_run(
    graph: RevisionGraph,
    branch: set[str],
    chosen: ChosenHead,
    *,
    action: str,
    harm: str,
    instead: str,
) -> str | None:
    """Why a fix may not ``action`` the branch of ``chosen.head`` (its revisions ``branch``)
    when one of them ran somewhere, and what a database that ran it would then suffer
    (``harm``); ``instead``: the head whose branch the user may name in its place."""
    ran = sorted(branch & chosen.run.keys(), key=graph.position)
    if not ran:
        return None
    return (
        f"{ran[0]} of the branch of {chosen.head} was already run ({chosen.run[ran[0]]}): a "
        f"database that ran it would {harm}. {action.capitalize()} the branch of {instead} "
        f"instead (--revision {instead}) if that one never ran, or merge the heads."
    )


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


def branch_kept(
    graph: RevisionGraph,
    branch: set[str],
    chosen: ChosenHead,
    *,
    action: str,
    harm: str,
    instead: str,
) -> str | None:
    """Why a fix leaves the branch of ``chosen.head`` (its revisions ``branch``) alone: one of
    them carries a branch label (:func:`labeled_branch`), or ran somewhere
    (:func:`already_run`, with ``action``, ``harm`` and ``instead``); None when neither."""
    return labeled_branch(graph, branch, chosen.head) or already_run(
        graph, branch, chosen, action=action, harm=harm, instead=instead
    )


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
