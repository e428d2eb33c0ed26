"""baseline: write one revision that creates the schema as it is now, and record it.

What it does
------------
For a project whose history is empty (the versions folder emptied to "start over", or never
written) over a database that has tables: writes one revision, with no parent, whose
``upgrade()`` creates every table of the live schema with its columns, keys, indexes and
constraints, and whose ``downgrade()`` drops them. alembic writes it: its autogenerate
comparison of the live schema with an empty ``MetaData`` (env.py's ``include_object`` and
``include_name`` apply), rendered through the project's ``script.py.mako`` and file name
template. The revision text is shown before consent. Then the version table is set to the new
revision (created when there is none), as ``alembic stamp`` does, under the migration lock: no
migration runs on this database. The version table and migdoctor's ledger are never part of it.
When the history already has revisions it refuses: a baseline beside them would be a second
root; ``migdoctor squash`` replaces an existing history by one revision.

Risk
----
caution: it changes what alembic believes (the version table) and starts the history; what
reflection cannot see (views, triggers, stored procedures, data, some server defaults) is not
in the revision, so read it before committing it.

Undo
----
``migdoctor undo`` deletes the revision file, only while it is exactly what was written, and puts
the version table back as it was (dropping it when the baseline created it), only while it
still holds the baseline's revision.
"""

from __future__ import annotations

import uuid

from migdoctor.facts.model import Facts
from migdoctor.findings import Risk
from migdoctor.repair.plan import (
    FixRequest,
    Plan,
    SchemaRevision,
    refused,
    version_table_change,
)

FIX_ID = "baseline"
NEEDS_DATABASE = True
RISK = Risk.CAUTION
MESSAGE = "baseline"


def plan(facts: Facts, request: FixRequest) -> Plan:
    database = facts.database
    title = "Write a baseline revision that creates the live schema, and record it"
    if database is None:
        return refused(FIX_ID, title, RISK, "baseline needs the database (not --offline).")
    project = facts.project
    if project.scripts or project.load_errors:
        count = len(project.scripts) + len(project.load_errors)
        return refused(
            FIX_ID,
            title,
            RISK,
            f"The project has {count} revision file(s) already: a baseline beside them would "
            "be a second first revision. To replace the history by one revision that creates "
            "the schema at its head, run migdoctor squash; to start over from the live schema "
            "instead, move every file out of "
            + ", ".join(project.relative(p) for p in project.config.version_locations)
            + " (keep them in git) and run this fix again.",
        )
    # migdoctor's own ledger table is never part of the user's schema
    ledger = project.config.ledger.table
    leave_out = {database.version_table.lower(), ledger.lower()}
    tables = [t for t in database.table_names if t.rsplit(".", 1)[-1].lower() not in leave_out]
    if not tables:
        return refused(
            FIX_ID,
            title,
            RISK,
            "The database has no table to put in a baseline: start the history with "
            "alembic revision (or --autogenerate from the models).",
        )
    revision_id = request.revision or uuid.uuid4().hex[-12:]
    change = version_table_change(database, (revision_id,))
    warnings = [
        "No migration runs on this database: the revision is written and the version table "
        "set to it. A new database gets the tables from its upgrade().",
        "The revision is what alembic reflects: views, triggers, stored procedures, data and "
        "some server defaults are not in it. Read it before committing it.",
    ]
    unknown = [row for row in database.version_rows if row not in project.graph]
    if unknown:
        warnings.append(
            f"Replaces {', '.join(unknown)} in {database.qualified_version_table}, which no "
            "script defines (undo puts it back)."
        )
    return Plan(
        fix=FIX_ID,
        title=f"Write baseline revision {revision_id} creating {len(tables)} table(s), "
        "and record it",
        risk=RISK,
        version_table=change,
        schema_revision=SchemaRevision(revision_id, MESSAGE, leave_out=(ledger,)),
        warnings=tuple(warnings),
        arguments={"revision": revision_id},
    )
