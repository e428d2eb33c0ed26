"""no-target-metadata: env.py gives autogenerate no models to compare with.

What it detects
---------------
What env.py passes to ``context.configure(target_metadata=...)``, learned by running it: either
``None`` (alembic's template default), or a ``MetaData`` that holds no table at all, which
happens when the module declaring ``Base`` is imported but the modules declaring the models are
not.

Why it matters
--------------
With ``None``, ``alembic revision --autogenerate`` and ``alembic check`` refuse with "Can't
proceed with --autogenerate option; environment script ... does not provide a MetaData object".
An empty ``MetaData`` is worse because it is silent: autogenerate compares the database with
"no tables at all" and writes a migration that drops every table (or, on an empty database, an
empty one). Projects that write every migration by hand can keep ``None``: that case is only
reported as information.

How to fix
----------
In env.py, import the models before handing over their metadata, for example
``from myapp import models`` and ``target_metadata = models.Base.metadata``. When the models are
spread over several modules, import each of them (or a package ``__init__`` that does). Then
run ``alembic revision --autogenerate`` and read the generated file before applying it.
"""

from __future__ import annotations

from typing import Any

from migdoctor.checks import check
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, Severity

SLUG = "no-target-metadata"
CODE = "MD301"


@check(
    SLUG,
    CODE,
    Severity.WARNING,
    needs_database=True,
    healthy="env.py passes the models' metadata (target_metadata) to autogenerate",
    reads_tables=OPERATION_TABLES,
)
def autogenerate_has_no_models(facts: Facts) -> list[Finding]:
    database = facts.database
    if database is None or database.target_metadata is None:
        return []
    metadata = database.target_metadata
    if metadata.tables:
        return []
    location = metadata.configured_at or facts.project.env_py_location
    env_py = location.path
    where = str(location)
    evidence: dict[str, Any] = {
        "env_py": env_py,
        "configured_at": str(metadata.configured_at) if metadata.configured_at else None,
        "target_metadata": metadata.described_as,
        "tables_in_metadata": list(metadata.tables),
        "tables_in_database": len(database.table_names),
    }
    if metadata.is_none:
        return [
            Finding(
                check=SLUG,
                code=CODE,
                severity=Severity.INFO,
                title="env.py passes target_metadata=None",
                message=(
                    f"env.py configures alembic with target_metadata=None (at {where}), so "
                    "alembic revision --autogenerate and alembic check refuse to run: \"Can't "
                    'proceed with --autogenerate option". Fine if every migration is written '
                    "by hand; otherwise pass the models' MetaData."
                ),
                evidence=evidence,
                locations=(location,),
            )
        ]
    existing = len(database.table_names)
    consequence = (
        f"writes a migration that drops all {existing} table{'s' if existing != 1 else ''} of "
        "the database"
        if existing
        else "writes empty migrations"
    )
    return [
        Finding(
            check=SLUG,
            code=CODE,
            severity=Severity.WARNING,
            title="target_metadata holds no tables (models never imported?)",
            message=(
                f"env.py passes a {metadata.described_as} with no tables as target_metadata "
                f"(at {where}): the modules that declare the models are probably never "
                f"imported. alembic revision --autogenerate then {consequence}."
            ),
            evidence=evidence,
            locations=(location,),
        )
    ]
