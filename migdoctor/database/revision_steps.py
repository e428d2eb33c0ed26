"""Run chosen revisions' ``upgrade()`` or ``downgrade()`` through the project's env.py, and read
the schema around them: what the round trip is built on.

Each run is alembic's own machinery: a ``RevisionStep`` per revision, handed to
``context.run_migrations()`` inside env.py, so the version table is kept as ``alembic upgrade``
and ``alembic downgrade`` keep it (branches deleted, merged and unmerged alike). The steps are
exactly the ones asked for, one revision at a time when the round trip wants each on its own.
The schema is read on the run's own connection before the first step and after the last.

These runs are meant for a scratch database (see :mod:`migdoctor.database.scratch`): they take
no migration lock and set no lock timeout; nobody else uses that database.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migdoctor.database.drift import read_schema_drift
from migdoctor.database.environment import run_environment
from migdoctor.database.schema_snapshot import read_schema_snapshot
from migdoctor.errors import MigdoctorError, describe_exception, driver_error
from migdoctor.facts.model import ProjectFacts, SchemaDriftFacts
from migdoctor.facts.roundtrip import SchemaSnapshot
from migdoctor.redact import redact_foreign

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext


@dataclass
class StepsRun:
    """What one run of revisions learned: the schema before and after, or which revision
    failed and how."""

    before: SchemaSnapshot | None = None
    after: SchemaSnapshot | None = None
    failed: str = ""  # the revision that raised
    error: str = ""
    completed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def run_revisions(
    project: ProjectFacts,
    revisions: Sequence[str],
    *,
    upgrade: bool,
    snapshots: bool = True,
    version_locations: tuple[Path, ...] = (),
) -> StepsRun:
    """Run each of ``revisions``' upgrade (or downgrade), in the order given, in one run of
    env.py (``version_locations``: the folders to load them from, if not the project's). A
    revision that raises ends the run: its failure is returned, not raised; env.py's own
    failures (and a revision that alembic cannot load) raise MigdoctorError."""
    outcome = StepsRun()
    running: list[str] = []

    def work(context: MigrationContext, script: Any) -> list[Any]:
        from alembic.runtime.migration import RevisionStep

        version_table = context.version_table
        connection = context.connection
        if snapshots:
            outcome.before = read_schema_snapshot(connection, exclude=(version_table,))  # type: ignore[arg-type]
        steps = []
        for index, revision in enumerate(revisions):
            step = RevisionStep(script.revision_map, script.get_revision(revision), upgrade)
            last = index == len(revisions) - 1
            step.migration_fn = _watched(
                step.migration_fn, revision, running, outcome, last and snapshots, context
            )
            steps.append(step)
        return steps

    direction = "upgrade" if upgrade else "downgrade"
    try:
        run_environment(
            project,
            work,
            read_only=False,
            action=f"The {direction} on the scratch database",
            version_locations=version_locations,
        )
    except MigdoctorError as error:
        if not running:
            raise
        cause = error.__cause__ or error
        outcome.failed = running[-1]
        outcome.error = redact_foreign(
            describe_exception(driver_error(cause)) + _where(cause, project, running[-1])
        )
    return outcome


def _watched(
    migration_fn: Any,
    revision: str,
    running: list[str],
    outcome: StepsRun,
    snapshot_after: bool,
    context: MigrationContext,
) -> Any:
    def run(**kw: Any) -> Any:
        running.append(revision)
        result = migration_fn(**kw)
        running.pop()
        outcome.completed.append(revision)
        if snapshot_after:
            outcome.after = read_schema_snapshot(
                context.connection,  # type: ignore[arg-type]
                exclude=(context.version_table,),
            )
        return result

    return run


def _where(error: BaseException, project: ProjectFacts, revision: str) -> str:
    """`` (at FILE:LINE)``: the last line of the revision's own file the error passed through."""
    script = project.graph.scripts.get(revision)
    if script is None:
        return ""
    wanted = os.path.realpath(script.path)
    lines = [
        frame.lineno
        for frame in traceback.extract_tb(error.__traceback__)
        if os.path.realpath(frame.filename) == wanted
    ]
    return f" (at {project.relative(Path(script.path))}:{lines[-1]})" if lines else ""


def read_drift_at_head(project: ProjectFacts) -> SchemaDriftFacts | None:
    """How the scratch database, at the head revision(s), differs from env.py's
    ``target_metadata`` (None: there are no models to compare with)."""
    found: list[SchemaDriftFacts | None] = []

    def work(context: MigrationContext, script: Any) -> list[Any]:
        rows = tuple(context.get_current_heads())
        found.append(read_schema_drift(context, project.graph, rows))
        return []

    run_environment(project, work, read_only=True, action="Comparing the models with the head")
    return found[0]
