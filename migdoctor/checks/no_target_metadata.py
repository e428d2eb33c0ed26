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
``migdoctor fix wire-target-metadata`` finds the declarative base (or ``MetaData``,
Flask-SQLAlchemy ``db``, ``SQLModel``) in the project's modules without importing them, shows
the diff of env.py that imports it and the modules declaring the models, writes it with your
consent and runs env.py again to prove the models are there (``--metadata module:attribute``
picks one when several could be meant; ``migdoctor undo`` takes the edit back). By hand: in
env.py, import the models before handing over their metadata, for example
``from myapp import models`` and ``target_metadata = models.Base.metadata``. When the models are
spread over several modules, import each of them (or a package ``__init__`` that does). Then
run ``alembic revision --autogenerate`` and read the generated file before applying it.
"""

from __future__ import annotations

from typing import Any

from migdoctor.checks import check
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, FixOption, Severity
from migdoctor.fixes.options import fix_option

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
    fixes = _wire_option(facts)
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
                fixes=fixes,
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
            fixes=fixes,
        )
    ]


def _wire_option(facts: Facts) -> tuple[FixOption, ...]:
    """wire-target-metadata, when the project's modules declare models (recommended when
    exactly one MetaData holds them)."""
    if facts.models is None or not facts.models.with_models:
        return ()
    candidates = facts.models.with_models
    only = candidates[0].reference if len(candidates) == 1 else None
    return (
        fix_option(
            facts,
            "wire-target-metadata",
            f"Pass {only}'s MetaData in env.py" if only else "Pass the models' MetaData in env.py",
            why=f"{only} is the only MetaData the project's modules declare models on"
            if only
            else "",
            recommended=only is not None,
        ),
    )
