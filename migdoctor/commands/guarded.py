"""``migdoctor upgrade``, ``downgrade`` and ``stamp``: alembic's commands, made safe to run.

Before an upgrade or downgrade a preflight asks whether the run would fail
(``operations/upgrade_blockers.py``: an unknown revision, a table that already exists, a
half-applied revision, a history alembic cannot load; and an ambiguous ``head``), shows the
findings of the checks that prove it and refuses, changing nothing. The database's migration
lock is taken first, so the preflight reads what another run left, never its half-done work. The
run gives up waiting for a table lock after ``--lock-timeout`` seconds and then names the session
in the way, shows each revision as it runs, and, when it stops early (a revision failed, Ctrl-C,
SIGTERM, its lock session ended on the server), reads the database back and says which revision
was running and which of its operations are in the schema.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from migdoctor.checks import run_checks
from migdoctor.commands.passthrough import run_alembic_command
from migdoctor.commands.run_settings import with_run_settings
from migdoctor.database.migration_failures import TableRef
from migdoctor.database.migrations import (
    DOWNGRADE,
    STAMP,
    UPGRADE,
    hold_migration_lock,
    run_migration,
)
from migdoctor.errors import EXIT_FAILED, EXIT_OK, CannotWrite, DatabaseMissing
from migdoctor.facts.migration_run import MigrationEvents, RevisionFailed
from migdoctor.facts.model import Facts, ProjectFacts
from migdoctor.findings import Finding, Risk, Severity
from migdoctor.gathering.aftermath import Aftermath, read_back
from migdoctor.gathering.gather import gather_facts, load_project
from migdoctor.operations.hazards import FAILING_HAZARD_SLUGS
from migdoctor.operations.upgrade_blockers import downgrade_blockers, upgrade_blockers
from migdoctor.project.config import ConfigOptions
from migdoctor.repair.journal import Journal, new_entry_id

if TYPE_CHECKING:
    from migdoctor.render.interaction import TerminalInteraction

RELATIVE = re.compile(r"[+-]\d+$")


def migrate(
    options: ConfigOptions,
    direction: str,
    revision: str,
    *,
    invocation: tuple[str, ...],
    sql: bool,
    tag: str | None,
    preflight: bool,
    lock_timeout: float | None,
    ui: TerminalInteraction,
    force: bool = False,
) -> int:
    """Upgrade or downgrade to ``revision`` (alembic's syntax), guarded: the migration lock
    first, then the preflight (reading what another run left, not its half-done work), then
    the run. ``lock_timeout``, ``options.statement_timeout`` and ``options.retries`` not given
    (None) are the project's settings (``[tool.migdoctor]``), else the defaults. ``force``: a
    downgrade drops also what no migration created (:func:`_drops_consented`)."""
    if sql:  # offline: SQL to stdout, no database, nothing to guard
        return run_alembic_command(options, direction, revision, sql=True, tag=tag)
    from migdoctor.render.progress import MigrationProgress

    project = load_project(options)
    options, lock_timeout = with_run_settings(options, lock_timeout, project.config)
    project = replace(project, config=replace(project.config, options=options))
    with ExitStack() as held:
        # a new SQLite database: the run creates it, and takes the lock then
        with suppress(DatabaseMissing):
            held.enter_context(
                hold_migration_lock(
                    project,
                    lock_timeout,
                    purpose=direction,
                    on_wait=MigrationProgress(ui.console, direction).lock_wait,
                )
            )
        facts: Facts | None = None
        if preflight:
            try:
                facts = gather_facts(options, invocation=invocation)
            except DatabaseMissing:
                # a new SQLite database: the upgrade creates it; only the scripts can be checked
                facts = gather_facts(options, offline=True, invocation=invocation)
        if facts is not None:
            refusal = preflight_refusal(facts, direction, revision)
            if refusal is not None:
                findings, reason = refusal
                ui.refuse(findings, reason)
                return EXIT_FAILED
            if direction == DOWNGRADE and not _drops_consented(facts, revision, ui, force):
                return EXIT_FAILED
            if direction == UPGRADE:
                _warn_of_lock_holders(facts, lock_timeout, ui)
            project = facts.project
        attempts = None
        if options.retries:
            attempts = AttemptJournal(
                Journal(project.config.base_directory),
                new_entry_id(),
                direction,
                revision,
                options.retries + 1,
                database=_database_named(facts, project),
            )
        return _run(
            options,
            project,
            facts,
            direction,
            revision,
            tag,
            lock_timeout,
            ui,
            invocation,
            attempts=attempts,
        )


@dataclass(frozen=True)
class AttemptJournal:
    """A run with ``--retries``: each attempt is written to the journal (an ``attempt`` record
    under ``run_id``), as it ends."""

    journal: Journal
    run_id: str
    command: str
    target: str
    allowed: int
    # the database run on, its password hidden: the targets of a fleet share one journal
    database: str | None = None

    def record(self, ui: TerminalInteraction, attempt: int, outcome: str, **details: Any) -> None:
        try:
            self.journal.attempt(
                self.run_id,
                command=self.command,
                target=self.target,
                database=self.database,
                attempt=attempt + 1,
                attempts_allowed=self.allowed,
                outcome=outcome,
                **details,
            )
        except CannotWrite as error:
            ui.text(f"{error} The run goes on.")

    def where(self) -> str:
        return f"{self.journal.path} (run {self.run_id})"


def _database_named(facts: Facts | None, project: ProjectFacts) -> str | None:
    """The URL of the database a run is on, its password hidden: as read, or (a SQLite file
    the run will create) as configured."""
    if facts is not None and facts.database is not None:
        return facts.database.url
    url = project.config.options.url or project.config.sqlalchemy_url
    if not url:
        return None
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy reads: no name rather than a secret
        return None


def retry_wait(attempt: int) -> float:
    """Seconds before retry ``attempt`` + 1: doubling from one second, at most 30, with a
    quarter of jitter so that runs waiting on the same lock do not come back together."""
    return min(30.0, 2.0**attempt) * random.uniform(0.75, 1.25)


def _safe_to_retry(failure: RevisionFailed, aftermath: Aftermath, dialect: str) -> bool:
    """Whether running the revision again is what a clean first run would do: it gave up on a
    lock, and either the database rolled it back (transactional DDL: PostgreSQL, SQLite) or
    nothing of it shows in the schema and it sent no SQL the schema cannot show."""
    if not failure.lock_timeout or failure.interrupted is not None:
        return False
    if aftermath.unreadable is not None or aftermath.version_rows is None:
        return False
    if tuple(sorted(aftermath.version_rows)) != tuple(sorted(failure.rows_before)):
        return False
    if dialect in ("postgresql", "sqlite"):
        return True
    return not aftermath.in_schema and not aftermath.cannot_tell


def _run(
    options: ConfigOptions,
    project: ProjectFacts,
    facts: Facts | None,
    direction: str,
    revision: str,
    tag: str | None,
    lock_timeout: float,
    ui: TerminalInteraction,
    invocation: tuple[str, ...],
    retried: bool = False,
    attempt: int = 0,
    attempts: AttemptJournal | None = None,
) -> int:
    from migdoctor.render.progress import MigrationProgress

    progress = MigrationProgress(ui.console, direction)
    try:
        result = run_migration(
            project,
            direction,
            revision,
            lock_timeout=lock_timeout,
            events=progress.events(),
            touched_tables=_touched_tables(facts),
            tag=tag,
        )
    except RevisionFailed as failure:
        progress.stop()
        aftermath = _what_is_left(project, facts, failure)
        safe = _safe_to_retry(failure, aftermath, _dialect(facts))
        gave_up = {
            "revision": failure.revision,
            "lock_timeout": failure.lock_timeout,
            "statement": failure.statement,
            "sessions_in_the_way": [blocker.describe() for blocker in failure.blockers],
        }
        if attempt < (options.retries or 0) and safe:
            wait = retry_wait(attempt)
            if attempts is not None:
                attempts.record(
                    ui, attempt, "gave up on a lock", retry_in=round(wait, 1), **gave_up
                )
            ui.text(
                f"Revision {failure.revision} gave up waiting for a lock, and nothing of it "
                f"took effect: trying again in {wait:.1f} s (retry {attempt + 1} of "
                f"{options.retries})."
            )
            time.sleep(wait)
            return _run(
                options,
                project,
                facts,
                direction,
                revision,
                tag,
                lock_timeout,
                ui,
                invocation,
                retried,
                attempt + 1,
                attempts,
            )
        if attempts is not None:
            if failure.interrupted is not None:
                why = "interrupted"
            elif not failure.lock_timeout:
                why = "not a lock wait"
            elif not safe:
                why = "something of the revision took effect, or the schema cannot tell"
            else:
                why = "no retry left"
            attempts.record(ui, attempt, "failed", not_retried=why, **gave_up)
        ui.revision_failed(
            failure, _dialect(facts), lock_timeout, aftermath, downgrade=direction != UPGRADE
        )
        if attempts is not None and attempt > 0:
            ui.text(
                f"Gave up after {attempt + 1} attempts; each is journaled in {attempts.where()}."
            )
        if (
            not retried
            and failure.blockers
            and failure.interrupted is None
            and _end_blockers_with_consent(options, invocation, failure, ui)
        ):
            return _run(
                options,
                project,
                None,
                direction,
                revision,
                tag,
                lock_timeout,
                ui,
                invocation,
                True,
                attempt + 1,
                attempts,
            )
        return failure.exit_code
    finally:
        progress.stop()
    ui.migrated(direction, result.steps, result.rows_before, result.rows_after)
    if attempts is not None:
        attempts.record(ui, attempt, "succeeded", revisions=[step[0] for step in result.steps])
        if attempt > 0:
            ui.text(
                f"Succeeded on attempt {attempt + 1} of {attempts.allowed}; each attempt is "
                f"journaled in {attempts.where()}."
            )
    return EXIT_OK


def stamp(
    options: ConfigOptions,
    revisions: Sequence[str],
    *,
    sql: bool,
    tag: str | None,
    purge: bool,
    lock_timeout: float | None,
    ui: TerminalInteraction,
) -> int:
    """alembic's stamp under the migration lock (``lock_timeout`` None: the project's setting,
    else the default)."""
    if sql:
        return run_alembic_command(
            options, "stamp", list(revisions), sql=True, tag=tag, purge=purge
        )
    from migdoctor.render.progress import MigrationProgress

    project = load_project(options)
    options, waits = with_run_settings(options, lock_timeout, project.config)
    project = replace(project, config=replace(project.config, options=options))
    progress = MigrationProgress(ui.console, STAMP)
    result = run_migration(
        project,
        STAMP,
        tuple(revisions),
        lock_timeout=waits,
        events=MigrationEvents(lock_wait=progress.lock_wait),  # a stamp runs nothing to follow
        tag=tag,
        purge=purge,
    )
    ui.migrated(STAMP, result.steps, result.rows_before, result.rows_after)
    return EXIT_OK


def _warn_of_lock_holders(facts: Facts, lock_timeout: float, ui: TerminalInteraction) -> None:
    """Say before the run that it will wait for the sessions lock-contention names, and for how
    long: seen on JupyterHub, where the upgrade sat silent for its whole 60 s behind a console
    the preflight had already found holding the table."""
    for outcome in run_checks(facts, select=["lock-contention"]):
        for finding in outcome.findings:
            wait = f"up to {lock_timeout:g}s (--lock-timeout)" if lock_timeout else "for ever"
            ui.text(
                f"! {finding.message} This upgrade will wait {wait} for them, then give up "
                "and say what was in the way."
            )


def preflight_refusal(
    facts: Facts, direction: str, target: str
) -> tuple[list[Finding], str] | None:
    """The findings that say this run would fail (and why), or None when it may go ahead."""
    graph = facts.project.graph
    planned: set[str] | None = None
    if not RELATIVE.search(target) and not facts.unknown_current and not graph.cycle:
        try:
            targets = graph.resolve(target)
        except LookupError as error:
            findings = [f for f in _errors(facts, ("multiple-heads",)) if target == "head"]
            return findings, f"Cannot {direction} to '{target}': {error}."
        if direction == UPGRADE and facts.database is not None:
            planned = set(graph.pending(facts.database.version_rows, targets))
    blockers = (
        upgrade_blockers(facts, planned) if direction == UPGRADE else downgrade_blockers(facts)
    )
    slugs = [slug for blocker in blockers for slug in blocker.checks]
    if direction == UPGRADE and target == "head":
        slugs.append("multiple-heads")
    if not slugs:
        failing = _failing_downgrade_steps(facts, target) if direction == DOWNGRADE else []
        if failing:
            return failing, f"The {direction} would fail: nothing was changed."
        return None
    relevant = [
        finding for finding in _errors(facts, slugs) if _concerns_this_run(finding, planned, target)
    ]
    if not relevant:
        return None
    return relevant, f"The {direction} would fail: nothing was changed."


# blockers that concern one revision: they stop this run only when it runs that revision
REVISION_BLOCKERS = ("table-exists", "partial-migration", *FAILING_HAZARD_SLUGS)


def _errors(facts: Facts, slugs: Sequence[str]) -> list[Finding]:
    return [
        finding
        for outcome in run_checks(facts, select=slugs)
        for finding in outcome.findings
        if finding.severity == Severity.ERROR
    ]


def _concerns_this_run(finding: Finding, planned: set[str] | None, target: str) -> bool:
    if finding.check == "multiple-heads":
        return target == "head"
    revision = finding.evidence.get("revision")
    if planned is not None and finding.check in REVISION_BLOCKERS and revision:
        return revision in planned
    return True


def _failing_downgrade_steps(facts: Facts, target: str) -> list[Finding]:
    """The findings of the steps of the ``downgrade()`` functions this downgrade runs that the
    database will refuse (``operations.hazards.DOWNGRADE_RULES``), recorded as an upgrade is
    (nothing runs). A ``downgrade()`` that cannot be recorded ends the reading there: what
    follows it cannot be followed."""
    from migdoctor.checks.hazard_findings import hazard_finding
    from migdoctor.operations.hazards import downgrade_hazards
    from migdoctor.operations.recorder import CannotRecord, record_downgrade
    from migdoctor.repair.drops import dialect_named

    database = facts.database
    if database is None or database.foreign_keys is None:
        return []  # the only rule for a downgrade's steps judges MySQL's foreign key indexes
    revisions = _downgrade_revisions(facts, target)
    dialect = dialect_named(database.dialect)
    runs = []
    for revision in revisions or ():
        script = facts.project.graph.scripts.get(revision)
        if script is None:
            break
        try:
            runs.append((revision, record_downgrade(script.path, dialect)))
        except CannotRecord:
            break
    return [
        hazard_finding(facts, hazard)
        for hazard in downgrade_hazards(facts, runs)
        if hazard.fails and hazard.severity == Severity.ERROR
    ]


def _downgrade_revisions(facts: Facts, target: str) -> tuple[str, ...] | None:
    """The revisions a downgrade to ``target`` takes back, in the order it runs them (newest
    first), as alembic plans it; None when alembic cannot plan it (it says why when it runs)."""
    if facts.database is None:
        return None
    try:
        from alembic.script import ScriptDirectory

        script: Any = ScriptDirectory.from_config(facts.project.config.alembic_config())
        steps = script._downgrade_revs(target, facts.database.version_rows)
        return tuple(str(step.revision.revision) for step in steps)
    except Exception:  # noqa: BLE001 - alembic reports a bad target itself when it runs
        return None


def _downgrade_title(facts: Facts, target: str, steps: Sequence[str]) -> str:
    """``Downgrade 1 revision, to ff1860e38070`` (newest first ``steps``): a relative target
    named by itself read "Downgrade to -1"."""
    graph = facts.project.graph
    landing = (
        ", ".join(graph.down.get(steps[-1], ())) or "base" if steps and steps[-1] in graph else ""
    )
    count = f"{len(steps)} revision{'s' if len(steps) != 1 else ''}"
    return f"Downgrade {count}, to {landing}" if landing else f"Downgrade to {target}"


def _drops_consented(facts: Facts, target: str, ui: TerminalInteraction, force: bool) -> bool:
    """Show the tables and columns the downgrade drops, with their rows, before it runs; on a
    terminal, ask before dropping rows (default: no). Refused without ``force`` when one of
    them no migration created: the revision was recorded as applied by a stamp, as migdoctor's
    journal and ledger tell (:func:`stamped_revisions`). False: nothing is to run."""
    from dataclasses import replace

    from migdoctor.commands.fix import with_row_counts
    from migdoctor.repair.drops import downgrade_drops, stamped_revisions
    from migdoctor.repair.journal import Journal
    from migdoctor.repair.plan import MigrationRun, Plan

    planned = _downgrade_revisions(facts, target)
    if facts.database is None or planned is None:
        return True
    revisions = tuple((revision, "") for revision in planned)
    found = downgrade_drops(facts, MigrationRun(DOWNGRADE, target, revisions), created=None)
    if isinstance(found, str) or not found[0]:
        return True
    stamped = stamped_revisions(facts, Journal(facts.project.config.base_directory).entries)
    database = facts.database
    drops = tuple(
        replace(drop, created_by_run=False, existed_because=stamped[drop.revision])
        if drop.revision in stamped and database.table(drop.table, drop.schema) is not None
        else drop
        for drop in found[0]
    )
    not_migrated = [drop for drop in drops if drop.created_by_run is False]
    blockers: tuple[str, ...] = ()
    if not_migrated and not force:
        newest_stamped = not_migrated[0].revision  # the steps run newest first
        first = (
            ""
            if newest_stamped in facts.database.version_rows
            else f"migdoctor downgrade {newest_stamped}, then "
        )
        blockers = (
            f"No migration created {_listed([drop.words for drop in not_migrated])}: "
            "the downgrade would drop what was there before the stamp. To keep it: "
            f"{first}migdoctor stamp {target} (the version table moves, the tables stay). "
            "To drop it anyway, add --force.",
        )
    plan = with_row_counts(
        facts,
        Plan(
            fix=DOWNGRADE,
            title=_downgrade_title(facts, target, [revision for revision, _ in revisions]),
            risk=Risk.DANGEROUS,
            drops=drops,
            warnings=found[1],
            blockers=blockers,
        ),
    )
    ui.show_plan(plan)
    if plan.blockers:
        ui.say("Nothing was changed.")
        return False
    holding_rows = any(drop.rows for drop in plan.drops)
    if holding_rows and ui.is_terminal and not ui.confirm("Drop them, with their rows?", False):
        ui.say("Nothing was changed.")
        return False
    return True


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _touched_tables(facts: Facts | None) -> dict[str, set[TableRef]]:
    if facts is None:
        return {}
    return {
        revision: {(op.schema, op.table) for op in recorded.operations if op.table}
        for revision, recorded in facts.operations.items()
    }


def _dialect(facts: Facts | None) -> str:
    return facts.database.dialect if facts is not None and facts.database is not None else ""


def _what_is_left(project: ProjectFacts, facts: Facts | None, failure: RevisionFailed) -> Aftermath:
    """The version table and which operations of the revision that was running the schema now
    shows (where the database did not roll its DDL back, as MySQL cannot, it is half applied)."""
    recorded = facts.operations.get(failure.revision) if facts is not None else None
    return read_back(project, failure.revision, recorded)


def _end_blockers_with_consent(
    options: ConfigOptions,
    invocation: tuple[str, ...],
    failure: RevisionFailed,
    ui: TerminalInteraction,
) -> bool:
    """On a terminal, offer to end the blocking sessions (dangerous; default no); True when
    they were ended and the run should be tried again."""
    if not ui.is_terminal:
        return False
    if not ui.confirm("End the session(s) in the way and try again?", default=False):
        return False
    from migdoctor.fixes import plan_fix
    from migdoctor.repair.apply import apply_plan
    from migdoctor.repair.journal import Journal
    from migdoctor.repair.plan import FixRequest

    facts = gather_facts(options, invocation=invocation)
    journal = Journal(facts.project.config.base_directory)
    for blocker in failure.blockers:
        plan = plan_fix(facts, FixRequest("end-session", session=blocker.session_id))
        ui.show_plan(plan)
        if plan.refusal:
            continue
        apply_plan(facts, plan, journal)
    return True
