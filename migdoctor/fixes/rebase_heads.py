"""rebase-heads: put one branch of the history after the other's head, for a linear history.

What it does
------------
For ``multiple-heads``, next to ``merge-heads``: rewrites the ``down_revision``
(and the docstring's ``Revises:`` line) of the first revision of one branch so that it comes
after the other head, as ``git rebase`` replays commits. The branch that moves is the one named
with ``--revision HEAD`` (an id or a unique prefix of one, as alembic reads it), or else
the one no database has run (of two, the newer); ``--onto`` names the head it goes after (by
default the other head, when there are two). One file changes;
the plan shows the diff.

Risk
----
dangerous: it changes the order of migrations: the moved branch then runs after the
other, which must be what both branches expect (read them: two branches that touch the same
table need a decision, not a new order). Refused when the moving branch was already run on this
database, or by a migration run migdoctor's journal records (a database that ran it would hold
revisions out of the new order); refused for a branch that carries a branch label of its own
(labeled branches are kept apart on purpose).

Undo
----
``migdoctor undo`` writes the file back byte for byte (the journal keeps it), as long as
it was not changed since.
"""

from __future__ import annotations

from migdoctor.facts.model import Facts
from migdoctor.findings import Risk
from migdoctor.fixes.branches import branch_kept, choose_head, head_named, not_a_head
from migdoctor.fixes.edits import edited_file
from migdoctor.project.header_edit import rewrite_header
from migdoctor.repair.plan import FixRequest, Plan, refused

FIX_ID = "rebase-heads"
NEEDS_DATABASE = True
RISK = Risk.DANGEROUS


def plan(facts: Facts, request: FixRequest) -> Plan:
    project = facts.project
    graph = project.graph
    title = "Put one branch after the other head"
    chosen = choose_head(facts, request.revision, "rebase")
    if chosen.refusal is not None:
        return refused(FIX_ID, title, RISK, chosen.refusal)
    moving, others = chosen.head, chosen.others
    if request.onto is not None:
        onto = head_named(graph, request.onto, others)
        if onto is None:
            return refused(FIX_ID, title, RISK, not_a_head("--onto", request.onto, others))
    elif len(others) == 1:
        (onto,) = others
    else:
        return refused(
            FIX_ID,
            title,
            RISK,
            f"{len(others) + 1} heads: name the one to go after with --onto ({', '.join(others)}).",
        )
    title = f"Put the branch of {moving} after {onto}"
    branch = graph.ancestors([moving]) - graph.ancestors([onto])
    roots = [
        revision
        for revision in branch
        if not any(parent in branch for parent in graph.scripts[revision].down_revisions)
    ]
    if len(roots) != 1:
        return refused(
            FIX_ID, title, RISK, f"The branch of {moving} starts at several revisions: merge it."
        )
    (root,) = roots
    kept = branch_kept(
        graph,
        branch,
        chosen,
        action="rebase",
        harm="hold revisions out of the new order",
        instead=onto,
    )
    if kept is not None:
        return refused(FIX_ID, title, RISK, kept)
    script = graph.scripts[root]
    below_onto = graph.ancestors([onto])
    parents = [onto if parent in below_onto else parent for parent in script.down_revisions]
    source = script.path.read_bytes()
    try:
        edited = rewrite_header(source, down_revisions=tuple(dict.fromkeys(parents or [onto])))
    except (ValueError, SyntaxError) as error:
        return refused(FIX_ID, title, RISK, f"{project.relative(script.path)}: {error}.")
    order = sorted(branch, key=graph.position)
    return Plan(
        fix=FIX_ID,
        title=f"Put {', '.join(order)} after {onto}",
        risk=RISK,
        files=(edited_file(project, script.path, source, edited),),
        warnings=(
            f"{len(order)} revision(s) will run after {onto} instead of beside it: read both "
            "branches first; if they change the same table, merge-heads with a reconciling "
            "merge revision is the safer repair.",
            "Commit the edited file, so every copy of the project agrees.",
        ),
        arguments={"revision": moving, "onto": onto, "root": root},
    )
