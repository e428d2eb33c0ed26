"""untracked-schema: the database has tables that no revision accounts for.

What it detects
---------------
Live tables (the version table aside, and as env.py's ``include_object`` / ``include_name``
filter them) that no revision of the history creates, renames or names at all. An error when
the history is empty — every file of the versions folder deleted, ``alembic_version`` dropped,
the common way to "start over" — while application tables are still there; a warning when the
history exists but leaves some live tables out; an info when the revisions themselves alter
tables no revision creates (the first revision empty, the application making its tables with
``create_all()`` and a stamp, as JupyterHub does): the tables no revision names are then made
the same way.

Why it matters
--------------
A database built from the history (a colleague's, CI's, a new production server) will not have
these tables. And the next ``alembic revision --autogenerate`` compares the models with *this*
database, where the tables already exist: it finds nothing to do and writes an empty baseline,
so the gap is never closed. After a "start over", ``alembic upgrade head`` on a fresh database
then creates nothing at all.

How to fix
----------
When the history is empty, ``migdoctor fix baseline`` writes the first revision from the live
schema (alembic's own rendering; it shows the file before consent) and records it here without
running it; ``migdoctor undo`` takes both back. By hand, or when the history exists: point
``sqlalchemy.url`` (or ``-x``/the environment variable your env.py reads) at a new, empty
database, run ``alembic revision --autogenerate -m baseline``, read the revision (it must create
exactly these tables), then ``migdoctor fix stamp --revision <it>`` on this database, which
verifies that the live schema is the baseline's before recording it. Tables that belong to
another application sharing the database are better left out of autogenerate with
``include_object`` in env.py.
"""

from __future__ import annotations

from migdoctor.checks import check, require_known_current, require_no_run_in_progress
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, FixOption, Severity
from migdoctor.fixes.options import fix_option
from migdoctor.operations.schema_position import comparison_with

SLUG = "untracked-schema"
CODE = "MD108"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=True,
    healthy="every table of the database is accounted for by the history",
    reads_tables=OPERATION_TABLES,
)
def tables_no_revision_accounts_for(facts: Facts) -> list[Finding]:
    require_known_current(facts)
    require_no_run_in_progress(facts)
    database = facts.database
    if database is None:
        return []
    comparison = comparison_with(facts, database.version_rows)
    if comparison is None or comparison.error is not None or not comparison.untracked_tables:
        return []
    tables = list(comparison.untracked_tables)
    listed = ", ".join(tables[:8]) + (f" and {len(tables) - 8} more" if len(tables) > 8 else "")
    empty_history = not facts.project.scripts
    never_created: list[str] = []
    if empty_history:
        severity = Severity.ERROR
        title = "The database has tables but the project has no revision"
        message = (
            f"The database holds {len(tables)} table{'s' if len(tables) != 1 else ''} "
            f"({listed}) while the project has no revision at all (the versions folder was "
            "emptied or never written) and "
            + (
                f"{database.qualified_version_table} "
                + ("is empty." if database.version_table_exists else "does not exist.")
            )
            + " A database built from the history would get none of them, and the next "
            "alembic revision --autogenerate, comparing the models with this database, would "
            "write an empty baseline."
        )
    elif never_created := _altered_never_created(facts):
        # JupyterHub (jupyterhub/jupyterhub): the first revision is empty, the application
        # makes every table with create_all() and stamps, the revisions only alter them; a
        # baseline for the tables they do not name would not make the history buildable
        severity = Severity.INFO
        title = "Tables the application makes itself, as the history expects"
        shown = ", ".join(never_created[:8]) + (
            f" and {len(never_created) - 8} more" if len(never_created) > 8 else ""
        )
        message = (
            f"No revision creates {listed}; nor does any create {shown}, which the revisions "
            "alter: the history expects the application to make its tables itself "
            "(metadata.create_all(), then a stamp) and only changes them. A database built "
            "from the history alone has none of them. Nothing to do if the application "
            "creates its tables when it starts; if the history should build the database, "
            "see migdoctor explain untracked-schema."
        )
    else:
        severity = Severity.WARNING
        title = "Tables that no revision accounts for"
        message = (
            f"No revision creates {listed}: a database built from the history lacks "
            f"{'them' if len(tables) != 1 else 'it'}, and autogenerate, comparing the models "
            "with this database, will not write the revision that would create "
            f"{'them' if len(tables) != 1 else 'it'}."
        )
    if empty_history:
        message += (
            " migdoctor fix baseline writes the revision that creates them, from the live "
            "schema, and records it here."
        )
        fixes: tuple[FixOption, ...] = (
            fix_option(
                facts,
                "baseline",
                "Write a baseline revision creating these tables and record it here",
                why="the history is empty: the live schema is the only description there is",
                recommended=True,
            ),
        )
    else:
        if severity == Severity.WARNING:
            message += (
                " Write a baseline revision that creates them (autogenerate against an empty "
                "database), then record it here with migdoctor fix stamp --revision REV: see "
                "migdoctor explain untracked-schema."
            )
        fixes = ()
    return [
        Finding(
            check=SLUG,
            code=CODE,
            severity=severity,
            title=title,
            message=message,
            evidence={
                "tables": tables,
                "revisions": len(facts.project.scripts),
                "version_table": database.qualified_version_table,
                "version_table_exists": database.version_table_exists,
                "current": list(database.version_rows),
                **({"altered_never_created": never_created} if never_created else {}),
            },
            locations=facts.project.config_location,
            fixes=fixes,
        )
    ]


def _altered_never_created(facts: Facts) -> list[str]:
    """Live tables the revisions change that no revision creates (or renames to)."""
    database = facts.database
    if database is None:
        return []
    created: set[tuple[str | None, str]] = set()
    altered: dict[tuple[str | None, str], str] = {}
    for recorded in facts.operations.values():
        for operation in recorded.operations:
            if operation.table is None:
                continue
            key = (operation.schema, operation.table.lower())
            if operation.kind == "create_table":
                created.add(key)
            elif operation.kind == "rename_table" and operation.name:
                created.add((operation.schema, operation.name.lower()))
            elif operation.kind not in ("drop_table", "execute", "bulk_insert"):
                altered.setdefault(key, operation.qualified_table or operation.table)
    return sorted(
        name
        for key, name in altered.items()
        if key not in created and database.table(key[1], key[0]) is not None
    )
