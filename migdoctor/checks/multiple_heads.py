"""multiple-heads: the revision history has more than one head.

What it detects
---------------
Two or more revisions that no other revision names as its ``down_revision``: two branches of
history that were never merged, typically two developers who each added a revision on top of
the same one. alembic then refuses ``alembic upgrade head`` with ``Multiple head revisions are
present for given argument 'head'`` and ``alembic revision`` with ``Multiple heads are
present``. When every head is on a labeled branch of its own (it carries a branch label,
declared on it or on a revision it descends from, that no other head carries, as with
``expand`` and ``contract`` branches kept apart on purpose), the heads are deliberate: that is
reported as information only. When a label that could tell the heads apart is computed
(``branch_labels = (cli.EXPAND_BRANCH,)``) and its file does not import where migdoctor runs,
whether the heads are deliberate is not known: that is a warning naming the labels that could
not be read, with no merge offered.

Why it matters
--------------
Deployments that run ``alembic upgrade head`` stop, and a new revision cannot be created until
someone picks a head. When both branches change the same column (both add ``user.bio``), or
create, drop or rename the same table, the finding names it, with the revisions on each side
(from the recorded operations online, from the files' literal ``op.*`` calls offline): a merge
revision alone will not save you there. Running ``upgrade heads`` instead applies both
branches in an order nobody chose, which is wrong when they touch the same tables.

How to fix
----------
Merge the heads into one revision: ``migdoctor fix merge-heads`` writes the merge revision
(what ``alembic merge heads`` does) after showing it. For a linear history instead,
``migdoctor fix rebase-heads`` puts the branch that no database ran after the other head
(rewriting its first revision's ``down_revision``; ``--revision HEAD`` and ``--onto HEAD``
choose); it refuses a branch this database or migdoctor's journal shows was run. Read both
branches first: if they change the same table, make the merge revision reconcile them. When
one branch only repeats the other (two ``initial`` revisions, a history started over beside the
old one) and never ran, ``migdoctor fix archive-branch`` takes it out of the history, moving its
files to ``<script_location>/archived/<HEAD>/`` (undo moves them back). If the
branches are meant to stay apart, give each its own branch label (``branch_labels =
("expand",)`` in the revision that starts it) and upgrade with ``upgrade heads`` or ``upgrade
expand@head``.
"""

from __future__ import annotations

from typing import Any

from migdoctor.checks import NotApplicable, check
from migdoctor.facts.model import Facts
from migdoctor.findings import Finding, Severity
from migdoctor.fixes.options import fix_option
from migdoctor.operations.branch_changes import shared_changes

SLUG = "multiple-heads"
CODE = "MD201"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=False,
    healthy="the history has one head (or one per labeled branch)",
)
def history_has_several_heads(facts: Facts) -> list[Finding]:
    graph = facts.project.graph
    # a revision cut off from its parent, or a cycle, makes heads of what is not one: the
    # missing-down-revision and revision-cycle findings name the real problem
    if any(reference.via == "down_revision" for reference in graph.missing):
        raise NotApplicable("a revision builds on a revision no file defines")
    if graph.cycle:
        raise NotApplicable("the history has a cycle")
    heads = graph.heads
    if len(heads) < 2:
        return []
    labels = {head: graph.branch_labels_of(head) for head in heads}
    # a label names a head only when no other head carries it too: then `label@head` works
    own_labels = {
        head: [
            label
            for label in labels[head]
            if not any(label in labels[other] for other in heads if other != head)
        ]
        for head in heads
    }
    unlabeled = [head for head in heads if not own_labels[head]]
    evidence: dict[str, Any] = {
        "heads": [
            {
                "revision": head,
                "message": graph.scripts[head].doc,
                "path": facts.project.relative(graph.scripts[head].path),
                "branch_labels": list(labels[head]),
            }
            for head in heads
        ],
    }
    if not unlabeled:
        targets = ", ".join(f"{own_labels[head][0]}@head" for head in heads)
        return [
            Finding(
                check=SLUG,
                code=CODE,
                severity=Severity.INFO,
                title="Several heads, each on its own labeled branch",
                message=(
                    f"The history has {len(heads)} heads, each on a branch of its own "
                    f"({targets}). That looks deliberate: alembic upgrade heads applies them "
                    "all, and alembic upgrade head refuses to choose."
                ),
                evidence=evidence,
                locations=facts.project.revision_locations(heads),
            )
        ]
    unknown = {head: graph.unknown_labels_of(head) for head in unlabeled}
    if any(unknown.values()):
        return [_labels_unknown(facts, heads, unknown, evidence)]
    evidence["unlabeled_heads"] = unlabeled
    evidence["diverged_after"] = _newest_common_ancestors(facts, unlabeled)
    diverged = evidence["diverged_after"]
    message = (
        f"The history has {len(heads)} heads: {', '.join(heads)}. "
        f"{_heads_phrase(unlabeled, len(heads))} "
        'alembic upgrade head fails with "Multiple head revisions are present for given '
        'argument \'head\'", and alembic revision with "Multiple heads are present".'
    )
    if diverged:
        message += f" The branches split after {', '.join(diverged)}."
    shared = shared_changes(graph, heads, facts.operations)
    if shared:
        evidence["changed_by_both"] = [
            {"change": change.what, "branches": dict(change.by_branch)} for change in shared
        ]
        message += (
            f" Both branches change {_listed([change.what for change in shared])}: a merge "
            "revision joins them without reconciling that (the second to run fails, or undoes "
            "the first); decide in the merge revision what the result must be."
        )
    return [
        Finding(
            check=SLUG,
            code=CODE,
            severity=Severity.ERROR,
            title="The history has more than one head",
            message=message,
            evidence=evidence,
            locations=facts.project.revision_locations(heads),
            fixes=(
                fix_option(
                    facts,
                    "merge-heads",
                    "Write a merge revision that joins the heads",
                    why="adds one file whose upgrade() does nothing; no table is touched"
                    if not shared
                    # a merge alone mends nothing there: not the recommended repair
                    else "adds one file whose upgrade() does nothing: both branches still run "
                    f"their changes to {_listed([change.what for change in shared])}, "
                    "to be reconciled by hand first",
                    recommended=not shared,
                ),
                fix_option(
                    facts,
                    "rebase-heads",
                    "Put the branch that never ran after the other head (a linear history)",
                    why="rewrites one down_revision; refused for a branch a database ran",
                ),
                *(
                    (
                        fix_option(
                            facts,
                            "archive-branch",
                            "Take the branch that never ran out of the history, keeping its files",
                            why="when it repeats the other branch (two initial revisions): its "
                            "files move to an archive folder; refused for a branch a database ran",
                        ),
                    )
                    if shared
                    else ()
                ),
            ),
        )
    ]


def _labels_unknown(
    facts: Facts, heads: tuple[str, ...], unknown: dict[str, list[str]], evidence: dict[str, Any]
) -> Finding:
    """Heads that may be on labeled branches: a label that would tell them apart is computed
    in a file that does not import here (script-load-error says why)."""
    graph = facts.project.graph
    sources = sorted({source for found in unknown.values() for source in found}, key=graph.position)
    computed = "; ".join(
        f"{source}: {dict(graph.scripts[source].unresolved)['branch_labels']}" for source in sources
    )
    evidence["unknown_labels"] = {
        source: dict(graph.scripts[source].unresolved)["branch_labels"] for source in sources
    }
    return Finding(
        check=SLUG,
        code=CODE,
        severity=Severity.WARNING,
        title="Several heads, whose branch labels could not be read",
        message=(
            f"The history has {len(heads)} heads: {', '.join(heads)}. Whether each is on a "
            f"labeled branch of its own (deliberate) is not known here: the branch labels of "
            f"{len(sources)} revision(s) are computed and their files do not import ({computed}). "
            "Make the files import (see script-load-error), then check again; do not merge "
            "the heads before: labeled branches are kept apart on purpose."
        ),
        evidence=evidence,
        # where the labels that could not be read are computed, then the heads
        locations=facts.project.revision_locations([*sources, *heads]),
    )


def _listed(items: list[str], shown: int = 3) -> str:
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def _heads_phrase(unlabeled: list[str], count: int) -> str:
    if len(unlabeled) == count:
        return "No branch label tells them apart."
    return f"No branch label of their own tells {', '.join(unlabeled)} apart."


def _newest_common_ancestors(facts: Facts, heads: list[str]) -> list[str]:
    """Where the heads' histories last met: common ancestors none of whose children is one."""
    graph = facts.project.graph
    common = graph.ancestors([heads[0]])
    for head in heads[1:]:
        common &= graph.ancestors([head])
    newest = [
        revision
        for revision in common
        if not any(child in common for child in graph.all_children[revision])
    ]
    return sorted(newest, key=graph.position)
