"""``migdoctor roundtrip``: prove that every revision's downgrade undoes its upgrade, on a
scratch database migdoctor creates for itself and drops afterwards.

1. Upgrade from base one revision at a time, in alembic's order (a revision after all its
   parents), reading the schema before each.
2. Downgrade one revision at a time, from the head(s) back to base (a revision after all its
   children), and compare the schema after each downgrade with the schema before its upgrade:
   what is still there was left behind, what is missing was removed wrongly. A downgrade that
   raises (``NotImplementedError``, a database error) is reported with its error. After a
   downgrade that failed or did not restore the schema, the scratch database is emptied and
   brought back to the revisions still to check, so each later verdict is the revision's own.
3. Upgrade again to the head(s) and compare the schema with the models (env.py's
   ``target_metadata``), as ``migdoctor check``'s schema-drift does.

Neither the configured database nor the database a ``--scratch-url`` names is written to.
"""

from __future__ import annotations

from dataclasses import replace

from migdoctor import __version__
from migdoctor.database.async_engines import runs_async_engine
from migdoctor.database.revision_steps import StepsRun, read_drift_at_head, run_revisions
from migdoctor.database.scratch import ScratchDatabase, no_new_sqlite_files, scratch_database
from migdoctor.errors import MigdoctorError
from migdoctor.facts.model import ProjectFacts
from migdoctor.facts.roundtrip import (
    FAILED,
    PASSED,
    RevisionRoundtrip,
    RoundtripReport,
    SchemaSnapshot,
    downgrade_changes,
)
from migdoctor.gathering.gather import load_project
from migdoctor.project.config import ConfigOptions


def roundtrip(options: ConfigOptions, scratch_url: str | None = None) -> RoundtripReport:
    """Run the round trip on a new scratch database (a temporary SQLite file unless
    ``scratch_url`` names a MySQL/MariaDB or PostgreSQL server) and say what it proved."""
    project = load_project(options)
    refuse_unwalkable(project, "the round trip")
    with (
        scratch_database(scratch_url, runs_async_engine(project.config)) as scratch,
        no_new_sqlite_files(scratch),
    ):
        on_scratch = load_project(replace(options, url=scratch.url))
        return _RoundTrip(on_scratch, scratch).run()


def refuse_unwalkable(project: ProjectFacts, what: str) -> None:
    """A history that cannot be walked revision by revision: exit 2, with what to run
    (``what``: the command that cannot run, "the round trip")."""
    graph = project.graph
    hint = "migdoctor check --offline names what is wrong."
    if project.load_errors:
        error = project.load_errors[0]
        raise MigdoctorError(
            f"Cannot run {what}: {project.relative(error.path)} cannot be read ({error.message}).",
            hint=hint,
        )
    if graph.cycle:
        raise MigdoctorError(f"Cannot run {what}: the revisions form a cycle.", hint=hint)
    if graph.missing:
        missing = graph.missing[0]
        raise MigdoctorError(
            f"Cannot run {what}: revision {missing.revision} names "
            f"{missing.missing}, which no script defines.",
            hint=hint,
        )
    if not graph.scripts:
        raise MigdoctorError(f"Cannot run {what}: the project has no revision yet.")


class _RoundTrip:
    """The walk up and down one scratch database, revision by revision."""

    def __init__(self, project: ProjectFacts, scratch: ScratchDatabase) -> None:
        self.project = project
        self.scratch = scratch
        graph = project.graph
        self.order = graph.pending([])  # oldest first: each revision after its parents
        self.results = {
            revision: RevisionRoundtrip(revision, graph.scripts[revision].doc)
            for revision in self.order
        }
        self.before_upgrade: dict[str, SchemaSnapshot] = {}

    def run(self) -> RoundtripReport:
        applied = self._upgrade_each()
        failed_upgrade = next((r for r in self.results.values() if r.upgrade == FAILED), None)
        # a failed upgrade may leave part of its work (MySQL cannot roll DDL back)
        clean = self._downgrade_each(applied, clean=failed_upgrade is None)
        final_error, not_compared = "", ""
        drift: tuple[str, ...] = ()
        if failed_upgrade is not None:
            not_compared = f"the upgrade of {failed_upgrade.revision} failed"
        else:
            if not clean:
                self.scratch.reset()
            final = run_revisions(self.project, self.order, upgrade=True, snapshots=False)
            if not final.ok:
                final_error = f"{final.failed}: {final.error}"
                not_compared = "the upgrade to head failed"
            else:
                drift, not_compared = self._drift()
        config_file = self.project.config.config_file
        return RoundtripReport(
            version=__version__,
            config_file=str(config_file) if config_file else None,
            scratch=self.scratch.shown_as,
            dialect=self.scratch.dialect,
            revisions=tuple(self.results[revision] for revision in self.order),
            final_upgrade_error=final_error,
            drift=drift,
            drift_not_compared=not_compared,
            heads=tuple(self.project.graph.heads),
        )

    def _upgrade_each(self) -> list[str]:
        """Upgrade revision by revision until one fails; the revisions upgraded."""
        applied: list[str] = []
        for revision in self.order:
            run = run_revisions(self.project, [revision], upgrade=True)
            if not run.ok:
                self._note(
                    revision,
                    upgrade=FAILED,
                    upgrade_error=run.error,
                    tables_never_created=self._absent_tables_altered(revision, run.before),
                )
                break
            assert run.before is not None
            self.before_upgrade[revision] = run.before
            self._note(revision, upgrade=PASSED)
            applied.append(revision)
        for revision in self.order[len(applied) + 1 :]:
            self._note(revision, not_run_because="an earlier upgrade failed")
        return applied

    def _absent_tables_altered(
        self, revision: str, before: SchemaSnapshot | None
    ) -> tuple[str, ...]:
        """The tables ``revision``'s upgrade() alters (read from its source) that the scratch
        database did not have before it, nor does the revision create. JupyterHub's first
        revision is empty and its application creates the tables: the round trip failed on
        "no such table: users" with a hint about SQLite."""
        if before is None:
            return ()
        from migdoctor.operations.static import read_operations_statically

        script = self.project.graph.scripts[revision]
        operations = read_operations_statically(script.path, revision, "").operations
        there = {table.lower() for table in before.tables}
        created = {op.table.lower() for op in operations if op.kind == "create_table" and op.table}
        return tuple(
            dict.fromkeys(
                op.table
                for op in operations
                if op.table
                and op.kind != "create_table"
                and op.table.lower() not in there | created
            )
        )

    def _downgrade_each(self, applied: list[str], clean: bool) -> bool:
        """Downgrade the ``applied`` revisions newest first, each checked against the schema
        before its upgrade. ``clean``: the scratch database is at the last of them, nothing
        else. False when it is left in a state no revision describes (the last downgrade
        failed or did not restore the schema)."""
        for index in range(len(applied) - 1, -1, -1):
            revision = applied[index]
            if not clean:
                rebuilt = self._rebuild(applied[: index + 1])
                if not rebuilt.ok:
                    for skipped in applied[: index + 1]:
                        self._note(
                            skipped,
                            not_run_because=(
                                f"the scratch database could not be rebuilt: upgrade of "
                                f"{rebuilt.failed} failed the second time ({rebuilt.error})"
                            ),
                        )
                    return False
            run = run_revisions(self.project, [revision], upgrade=False)
            clean = self._judge(revision, run)
        return clean

    def _judge(self, revision: str, run: StepsRun) -> bool:
        if not run.ok:
            self._note(revision, downgrade=FAILED, downgrade_error=run.error)
            return False
        assert run.after is not None
        changes = downgrade_changes(self.before_upgrade[revision], run.after)
        self._note(revision, downgrade=PASSED, changes=changes)
        return not changes

    def _rebuild(self, revisions: list[str]) -> StepsRun:
        """Empty the scratch database and upgrade it through ``revisions`` again."""
        self.scratch.reset()
        return run_revisions(self.project, revisions, upgrade=True, snapshots=False)

    def _drift(self) -> tuple[tuple[str, ...], str]:
        drift = read_drift_at_head(self.project)
        if drift is None:
            return (), "env.py's target_metadata holds no tables"
        if drift.error:
            return (), f"the comparison failed: {drift.error}"
        return tuple(d.words for d in drift.differences), ""

    def _note(self, revision: str, **changes: object) -> None:
        self.results[revision] = replace(self.results[revision], **changes)  # type: ignore[arg-type]
