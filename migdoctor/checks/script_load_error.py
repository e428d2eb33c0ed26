"""script-load-error: a file in a version folder cannot be read as a revision.

What it detects
---------------
A file alembic would load as a revision but cannot: a ``SyntaxError``, an ``ImportError`` while
importing a file whose header is not literal, a header that declares no ``revision`` or no
``down_revision``, or an id with characters alembic rejects. migdoctor reads the other files
anyway and checks them without this one.

Why it matters
--------------
alembic imports every file of the version folders before any command, so one broken file stops
``alembic upgrade``, ``current`` and ``history`` for everyone, on every database. A helper module
saved in a version folder counts too: alembic treats every ``.py`` file there as a revision.

How to fix
----------
Open the file at the line shown and correct it. A helper module that is not a revision belongs
outside the version folders. When a file only fails because it imports the application, keep
its header (``revision``, ``down_revision``, ``branch_labels``, ``depends_on``) plain literals:
migdoctor then reads it without importing it, and alembic still imports it where the
application is installed.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.facts import Facts
from migdoctor.findings import Finding, Severity

SLUG = "script-load-error"
CODE = "MD205"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=False,
    healthy="every version file can be read",
)
def version_file_cannot_be_loaded(facts: Facts) -> list[Finding]:
    project = facts.project
    findings = []
    for error in project.load_errors:
        where = project.relative(error.path)
        at = f"{where}:{error.line}" if error.line else where
        findings.append(
            Finding(
                check=SLUG,
                code=CODE,
                severity=Severity.ERROR,
                title=f"{error.path.name} cannot be loaded",
                message=(
                    f"{at}: {error.message.rstrip('.')}. alembic loads every file of the "
                    "version folders, so it fails here on every command. migdoctor checked "
                    f"the {len(project.scripts)} other revision file(s) without it."
                ),
                evidence={"path": where, "line": error.line, "error": error.message},
            )
        )
    return findings
