"""missing-down-revision: a revision builds on a revision that no file defines.

What it detects
---------------
A revision's ``down_revision`` (or one of its ``depends_on``) names an id, or a branch label,
that none of the project's revision files declares. alembic only warns
``Revision X referenced from Y is not present``, then fails with ``KeyError: 'X'`` on
``alembic heads``, ``history`` and ``upgrade`` (for a ``depends_on``, without the warning).

Why it matters
--------------
alembic cannot place the revision in the history, so no command that reads the history works.
The usual causes: the parent's file was deleted or never committed, a branch was merged without
it, the id was mistyped while resolving a merge conflict, or the file that defines it cannot be
loaded (see ``script-load-error``).

How to fix
----------
Look for the missing file first: ``git log --all -- '*<id>*'`` finds a deleted or unmerged
revision, and restoring it is the best repair. If the id is a typo, or the parent was removed
on purpose (history squashed), ``migdoctor fix reparent-revision --revision REV`` rewrites
``down_revision`` (and the docstring's ``Revises:``) to the best candidate: the id migdoctor
shows as similar, else the revision created just before it (``--onto REV`` chooses). It shows
the diff and the other candidates first, and ``migdoctor undo`` puts the file back.
"""

from __future__ import annotations

from typing import Any

from migdoctor.checks import check
from migdoctor.facts.model import Facts
from migdoctor.findings import Finding, FixOption, Severity
from migdoctor.fixes.options import fix_option

SLUG = "missing-down-revision"
CODE = "MD202"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=False,
    healthy="every down_revision and depends_on names a known revision",
)
def revision_builds_on_missing_revision(facts: Facts) -> list[Finding]:
    project = facts.project
    graph = project.graph
    findings = []
    for reference in graph.missing:
        script = graph.scripts[reference.revision]
        similar = graph.looks_like(reference.missing)
        # revision files are usually named after their id: an unloadable one may define it
        unloadable = [
            project.relative(error.path)
            for error in project.load_errors
            if reference.missing in error.path.name
        ]
        evidence: dict[str, Any] = {
            "revision": reference.revision,
            "path": project.relative(script.path),
            "missing": reference.missing,
            "via": reference.via,
            "similar": similar,
            "unloadable_file": unloadable,
        }
        message = (
            f"Revision {script.revision} ({project.relative(script.path)}) names "
            f"'{reference.missing}' as its {reference.via}, and no revision file defines it. "
            + (
                f'alembic warns "Revision {reference.missing} referenced from '
                f'{reference.revision} is not present", then fails with '
                if reference.via == "down_revision"
                else "alembic fails on every command with "
            )
            + f"KeyError: '{reference.missing}'."
        )
        if unloadable:
            message += (
                f" {', '.join(unloadable)} may define it but cannot be loaded: see "
                "script-load-error."
            )
        elif similar:
            message += f" Possible typo: it looks like {', '.join(similar)}."
        reparent: tuple[FixOption, ...] = ()
        if reference.via == "down_revision" and not unloadable:
            reparent = (
                fix_option(
                    facts,
                    "reparent-revision",
                    f"Point {reference.revision} at "
                    + (similar[0] if similar else "the revision created before it")
                    + f" instead of {reference.missing}",
                    why="when the parent is gone on purpose or its id is a typo; restoring a "
                    "deleted file is better",
                    revision=reference.revision,
                ),
            )
        findings.append(
            Finding(
                check=SLUG,
                code=CODE,
                severity=Severity.ERROR,
                title=f"{reference.revision} builds on a revision no file defines",
                message=message,
                evidence=evidence,
                fixes=reparent,
                locations=(
                    project.revision_location(
                        script, down_revision=reference.via == "down_revision"
                    ),
                ),
            )
        )
    return findings
