"""branch-label-clash: a branch label is declared twice, or is also a revision id.

What it detects
---------------
Two revisions declare the same name in ``branch_labels``, or a branch label is spelled like a
revision id. alembic refuses to read the history at all: every command fails with
``Branch name 'X' in revision Y already used by revision Z``. It is the branch-label cousin of
``duplicate-revision``, kept apart because alembic's reaction is different (a hard failure,
where a duplicate id is only a warning).

Why it matters
--------------
A label stands for one branch: ``alembic upgrade expand@head`` must know which revision starts
``expand``. The usual cause is a revision file copied to start a new one with its header
unchanged, or two developers who each started a branch with the same name.

How to fix
----------
Keep the label on the revision that starts the branch and remove it from the other (a label
reaches every later revision of its branch by itself, so later revisions never need to repeat
it), or rename one of them. A label equal to a revision id must be renamed.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.facts.model import Facts
from migdoctor.findings import Finding, Severity

SLUG = "branch-label-clash"
CODE = "MD207"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=False,
    healthy="every branch label names one branch",
)
def branch_label_declared_twice(facts: Facts) -> list[Finding]:
    project = facts.project
    graph = project.graph
    findings = []
    for clash in graph.label_clashes:
        first, second = clash.revisions
        # a label spelled like a revision id clashes with that revision itself
        is_revision_id = clash.label in graph.scripts
        revisions = [
            {
                "revision": revision,
                "message": graph.scripts[revision].doc,
                "path": project.relative(graph.scripts[revision].path),
                "branch_labels": list(graph.scripts[revision].branch_labels),
            }
            for revision in clash.revisions
        ]
        if is_revision_id:
            title = f"Branch label '{clash.label}' is also a revision id"
            what = f"Revision {second} declares branch label '{clash.label}', the id of a revision"
        else:
            title = f"Branch label '{clash.label}' is declared by two revisions"
            what = f"Revisions {first} and {second} both declare branch label '{clash.label}'"
        # alembic names the two revisions in an order of its own (it walks a set)
        message = (
            f"{what}. alembic fails on every command with \"Branch name '{clash.label}' in "
            'revision … already used by revision …".'
        )
        findings.append(
            Finding(
                check=SLUG,
                code=CODE,
                severity=Severity.ERROR,
                title=title,
                message=message,
                evidence={
                    "label": clash.label,
                    "clashes_with_revision_id": is_revision_id,
                    "revisions": revisions,
                },
                locations=project.revision_locations(reversed(clash.revisions)),
            )
        )
    return findings
