"""duplicate-revision: two files declare the same revision id.

What it detects
---------------
Two or more revision files set ``revision`` to the same id: a file copied to start a new
migration without changing its id, the same revision committed under two names, or an old copy
left in another version location. alembic only warns ``Revision X is present more than once``
and keeps the file it read last.

Why it matters
--------------
Only one of the files is ever run: the ``upgrade()`` of the other is silently skipped on every
database, and its tables or columns never exist. Which file wins depends on file names and
version locations, so renaming a file can change what a deployment does.

How to fix
----------
If the files are copies of one migration, delete the copy alembic ignores (migdoctor names
it). If they are two different migrations, give the ignored one an id of its own and make it come
after the head: ``migdoctor fix renumber-revision --revision ID`` does that (fresh id in the
file name, ``revision`` and docstring; ``down_revision`` the head, or ``--onto REV``; ``--path
FILE`` picks the copy), shows the diff first, and ``migdoctor undo`` puts the file back. The
next upgrade then runs the migration that was skipped. It refuses when the database records
the id (either file may have run there) unless ``--force``. Do not change the id of the file
alembic used: databases already record it.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.facts.model import Facts
from migdoctor.findings import Finding, Severity
from migdoctor.fixes.options import fix_option

SLUG = "duplicate-revision"
CODE = "MD203"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=False,
    healthy="every revision id is declared by one file",
)
def revision_id_declared_twice(facts: Facts) -> list[Finding]:
    project = facts.project
    graph = project.graph
    findings = []
    for revision, paths in graph.duplicates.items():
        # graph.scripts keeps one script per id; every file's own header is in project.scripts
        declared = {script.path: script for script in project.scripts if script.path in paths}
        used = graph.scripts[revision].path
        ignored = [path for path in paths if path != used]
        files = [
            {
                "path": project.relative(path),
                "message": declared[path].doc,
                "down_revision": list(declared[path].down_revisions),
            }
            for path in paths
        ]
        listed = ", ".join(project.relative(path) for path in paths)
        message = (
            f"Revision {revision} is declared by {len(paths)} files: {listed}. "
            f'alembic only warns "Revision {revision} is present more than once" and uses '
            f"{project.relative(used)}; the upgrade() of "
            f"{', '.join(project.relative(path) for path in ignored)} never runs."
        )
        findings.append(
            Finding(
                check=SLUG,
                code=CODE,
                severity=Severity.ERROR,
                title=f"Revision {revision} is declared by {len(paths)} files",
                message=message,
                evidence={
                    "revision": revision,
                    "files": files,
                    "used": project.relative(used),
                    "ignored": [project.relative(path) for path in ignored],
                },
                fixes=(
                    fix_option(
                        facts,
                        "renumber-revision",
                        f"Give {', '.join(project.relative(path) for path in ignored)} an id of "
                        "its own, after the head",
                        why="when the files are two different migrations: the skipped one then "
                        "runs at the next upgrade",
                        revision=revision,
                    ),
                ),
                # the files alembic ignores first: theirs is the declaration to change
                locations=tuple(
                    project.revision_location(declared[path]) for path in [*ignored, used]
                ),
            )
        )
    return findings
