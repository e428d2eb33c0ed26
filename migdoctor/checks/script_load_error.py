"""script-load-error: a file in a version folder cannot be loaded as alembic loads it.

What it detects
---------------
A file alembic would load as a revision but cannot: a ``SyntaxError``, a header that declares
no ``revision`` or no ``down_revision``, an id with characters alembic rejects, or a file whose
header reads fine but which fails when it is imported: an import of a package that is not
installed (``ModuleNotFoundError``, with the package's name and whether the project's
requirements files or pyproject.toml list it), a ``NameError`` or any other exception at
module level, a call to ``sys.exit()``, or an import that does not finish (it waits on a lock,
the network or input). The report names the file, the line and the statement that failed.
migdoctor reads the other files anyway and checks them without this one. A header field computed
from something outside the file (``branch_labels = (cli.EXPAND_BRANCH,)``) is read from the
project's own module that defines it when that is a literal there; otherwise the file is
imported to tell it, and when that import fails the report names the field as unknown while the
file's literal ``revision`` and ``down_revision`` still place it in the history.

``migdoctor check``, the preflight of ``migdoctor upgrade``/``downgrade`` and every fix import
each version file as alembic will, in a child process (so a file that hangs or exits can stop
neither migdoctor nor the check) with the ``sys.path`` env.py leaves; ``check --offline``
imports them the same way without env.py, with alembic's ``prepend_sys_path``. The answers are
cached per Python environment until a version file, a module they loaded or a folder on the
import path changes (``MIGDOCTOR_NO_CACHE=1`` turns that off; ``MIGDOCTOR_IMPORT_TIMEOUT``
sets the seconds a file may take, default 15). ``heads`` and ``history`` import only the files
whose header is not literal, in the same kind of child.

Why it matters
--------------
alembic imports every file of the version folders before any command, so one broken file stops
``alembic upgrade``, ``current`` and ``history`` for everyone, on every database. A helper module
saved in a version folder counts too: alembic treats every ``.py`` file there as a revision.
While a file cannot be imported, migdoctor offers no upgrade: ``stale-current`` offers none,
``migdoctor upgrade`` and ``migdoctor fix upgrade`` refuse, naming the file.

How to fix
----------
Open the file at the line shown and correct it. A missing package that the requirements list
only needs installing where migdoctor and alembic run (``pip install -r requirements.txt``, or
the project itself with ``pip install -e .``); one they do not list would fail on every fresh
machine: add it to the requirements, or remove the import from the revision (a revision should
import little of the application, whose code changes after the revision was written). A helper
module that is not a revision belongs outside the version folders. ``check --offline`` runs
without env.py: when env.py extends ``sys.path`` for the application, run ``migdoctor check``
online, or set ``prepend_sys_path`` in alembic.ini.
"""

from __future__ import annotations

from typing import Any

from migdoctor.checks import check
from migdoctor.facts.model import Facts
from migdoctor.findings import Finding, Location, Severity
from migdoctor.project.scripts import ScriptLoadError

SLUG = "script-load-error"
CODE = "MD205"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=False,
    healthy="every version file imports as alembic imports it",
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
                locations=(Location(where, error.line),),
            )
        )
    findings.extend(_import_failure(facts, error) for error in project.import_errors)
    if project.imports_unchecked is not None:
        findings.append(
            Finding(
                check=SLUG,
                code=CODE,
                severity=Severity.WARNING,
                title="The version files could not be imported to check them",
                message=(
                    f"{project.imports_unchecked.rstrip('.')}. Their headers were read, but "
                    "whether alembic can import them is not known."
                ),
                evidence={"error": project.imports_unchecked},
                locations=project.config_location,
            )
        )
    return findings


def _import_failure(facts: Facts, error: ScriptLoadError) -> Finding:
    project = facts.project
    where = project.relative(error.path)
    at = f"{where}:{error.line}" if error.line else where
    script = next((s for s in project.scripts if s.path == error.path), None)
    revision = script.revision if script is not None else None
    statement = f" ({error.statement.strip()})" if error.statement else ""
    message = (
        f"{at}{statement}: {error.message.rstrip('.')}. alembic imports every version file "
        "before it runs anything, so alembic upgrade (and current, history) fails on this "
        "file, whichever revision is pending."
    )
    evidence: dict[str, Any] = {
        "path": where,
        "line": error.line,
        "statement": error.statement,
        "error": error.message,
        "revision": revision,
    }
    if error.missing_module is not None:
        package = error.missing_module.split(".")[0]
        evidence["missing_module"] = error.missing_module
        evidence["declared_in"] = list(error.declared_in)
        if error.declared_in:
            message += (
                f" Package {package} is listed in {', '.join(error.declared_in)} but not "
                "installed here: install the project's requirements where migdoctor runs."
            )
        elif error.declarations_read:
            message += (
                f" Package {package} is not listed in {', '.join(error.declarations_read)} "
                "(unless under another distribution name): a fresh install would fail too."
            )
        else:
            message += f" No requirements file was found to tell whether {package} is declared."
    if script is not None and script.unresolved:
        fields = ", ".join(f"{name} ({source})" for name, source in script.unresolved)
        message += (
            f" Its header was read without importing it, except {fields}: migdoctor reads "
            f"revision {script.revision} with that unknown (taken as empty) until the file "
            "imports."
        )
        evidence["unknown_header"] = dict(script.unresolved)
    if facts.offline:
        message += " (Imported offline, without env.py.)"
    return Finding(
        check=SLUG,
        code=CODE,
        severity=Severity.ERROR,
        title=f"{error.path.name} fails when imported",
        message=message,
        evidence=evidence,
        locations=(Location(where, error.line),),
    )
