"""irreversible-downgrade: revisions whose downgrade() does nothing, or is missing.

What it detects
---------------
Revisions whose ``upgrade()`` changes something while their ``downgrade()`` holds only
``pass``, a docstring or comments, or is not defined at all. It is read from the source, without
running anything. Revisions whose ``upgrade()`` is empty as well (merge revisions, placeholders)
are left out, and a ``downgrade()`` that raises (``raise NotImplementedError("...")``) counts as
a deliberate choice. All such revisions are listed in one finding, for information.

Why it matters
--------------
``alembic downgrade`` through an empty ``downgrade()`` succeeds without undoing anything: the
version table steps back while the tables and columns stay, so the next ``upgrade`` fails on
what is still there ("table already exists"). A missing ``downgrade()`` makes the downgrade
fail half way with ``AttributeError``. Rolling back a bad deployment is exactly when this is
discovered.

How to fix
----------
Write the ``downgrade()`` that undoes the ``upgrade()`` (``alembic revision --autogenerate``
writes both halves; for hand-written revisions, drop what was created, in reverse order). When
a revision really cannot be undone (data was deleted or transformed), say so in the code:
``raise NotImplementedError("irreversible: ...")`` makes a downgrade stop there, loudly,
instead of pretending to succeed, and this check then leaves the revision alone.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.facts.model import Facts
from migdoctor.findings import Finding, Severity

SLUG = "irreversible-downgrade"
CODE = "MD206"
LISTED_IN_MESSAGE = 5


@check(
    SLUG,
    CODE,
    Severity.INFO,
    needs_database=False,
    healthy="every revision that changes something has a downgrade()",
)
def downgrade_does_not_undo_upgrade(facts: Facts) -> list[Finding]:
    project = facts.project
    graph = project.graph
    irreversible = [
        script
        for script in graph.scripts.values()
        if script.upgrade_body == "code" and script.downgrade_body in ("empty", "missing")
    ]
    if not irreversible:
        return []
    oldest_first = {revision: i for i, revision in enumerate(reversed(graph.history()))}
    irreversible.sort(key=lambda script: oldest_first.get(script.revision, len(oldest_first)))
    count = len(irreversible)
    missing = [script.revision for script in irreversible if script.downgrade_body == "missing"]
    listed = ", ".join(script.label for script in irreversible[:LISTED_IN_MESSAGE])
    message = (
        f"{count} revision{'s' if count != 1 else ''} change{'' if count != 1 else 's'} "
        f"something in upgrade() but undo{'' if count != 1 else 'es'} nothing in downgrade(): "
        f"{listed}"
        + (" …" if count > LISTED_IN_MESSAGE else "")
        + (
            ". alembic downgrade through them steps the version table back and leaves their "
            "changes in place, so the next upgrade runs them again over what they left."
            if count != 1
            else ". alembic downgrade through it steps the version table back and leaves its "
            "changes in place, so the next upgrade runs it again over what it left."
        )
    )
    if missing:
        message += (
            f" {', '.join(missing)} define{'s' if len(missing) == 1 else ''} no downgrade() at "
            "all: a downgrade stops there with AttributeError."
        )
    return [
        Finding(
            check=SLUG,
            code=CODE,
            severity=Severity.INFO,
            title=f"{count} revision{'s' if count != 1 else ''} cannot be downgraded",
            message=message,
            evidence={
                "revisions": [
                    {
                        "revision": script.revision,
                        "message": script.doc,
                        "path": project.relative(script.path),
                        "downgrade": script.downgrade_body,
                    }
                    for script in irreversible
                ]
            },
            locations=tuple(project.revision_location(script) for script in irreversible),
        )
    ]
