"""``migdoctor undo``: revert the last applied fix, once it is verified that nothing changed
since; an entry whose process never finished is judged first (``repair/unfinished.py``).

Exit codes as ``migdoctor fix``: 0 undone (or nothing to undo), 1 refused, 2 could not run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from migdoctor.commands.fix import (
    apply_with_journal,
    ask_consent,
    migration_lock_first,
    with_row_counts,
)
from migdoctor.commands.run_settings import with_run_settings
from migdoctor.database.capture import RECORD_NONE
from migdoctor.errors import EXIT_FAILED, EXIT_OK, MigdoctorError
from migdoctor.facts.model import Facts, ProjectFacts
from migdoctor.gathering.gather import gather_facts, load_project
from migdoctor.project.config import ConfigOptions
from migdoctor.repair.journal import Journal, JournalEntry
from migdoctor.repair.undo import entry_needs_database, undo_plan, undo_target
from migdoctor.repair.unfinished import (
    MOVED,
    NEW,
    OLD,
    RUNNING,
    Unfinished,
    judge_unfinished,
    process_alive,
)

if TYPE_CHECKING:
    from migdoctor.render.interaction import TerminalInteraction


def undo(
    options: ConfigOptions,
    invocation: tuple[str, ...],
    *,
    yes: bool,
    dry_run: bool,
    list_entries: bool,
    lock_timeout: float | None,
    ui: TerminalInteraction,
) -> int:
    """``migdoctor undo``: revert the last applied fix, if the state is still what it left.
    ``lock_timeout`` None: the project's setting, else the default (``run_settings``)."""
    from migdoctor.render.plans import render_journal

    project = load_project(options)
    options, waits = with_run_settings(options, lock_timeout, project.config)
    journal = Journal(project.config.base_directory)
    if list_entries:
        render_journal(journal.entries(), ui.console, journal.attempts())
        return EXIT_OK
    target = undo_target(journal.entries())
    for note in target.passed_over:
        ui.text(note)
    if target.unfinished is not None:
        verdict = _judge_unfinished(options, invocation, target.unfinished)
        for line in verdict.lines:
            ui.text(line)
        if verdict.event is not None and not dry_run:
            journal.finish(target.unfinished.id, verdict.event, found_by="undo", **verdict.details)
        if verdict.outcome == NEW and target.unfinished.is_undo:
            journal.finish(
                str(target.unfinished.record["undoes"]), "undone", by=target.unfinished.id
            )
        if verdict.outcome in (RUNNING, MOVED):
            return EXIT_FAILED
        if verdict.outcome == OLD and not target.unfinished.is_undo:
            return EXIT_OK
        if dry_run:
            ui.say("Dry run: nothing was changed (the journal neither).")
            return EXIT_OK
        target = undo_target(journal.entries())
    entry = target.entry
    if entry is None:
        ui.say("Nothing to undo: the journal holds no applied fix that can be undone.")
        return EXIT_OK
    if not entry_needs_database(entry):
        facts = _undo_facts(options, invocation, project, entry)
        return _undo(facts, entry, yes, dry_run, waits, ui, options, invocation)
    with migration_lock_first(options, waits, ui, "undo"):
        # read again under the lock: the entry to undo may have changed while it waited
        entry = undo_target(journal.entries()).entry
        if entry is None:
            ui.say("Nothing to undo: the journal holds no applied fix that can be undone.")
            return EXIT_OK
        facts = _undo_facts(options, invocation, project, entry)
        return _undo(facts, entry, yes, dry_run, waits, ui, options, invocation)


def _undo(
    facts: Facts,
    entry: JournalEntry,
    yes: bool,
    dry_run: bool,
    lock_timeout: float,
    ui: TerminalInteraction,
    options: ConfigOptions,
    invocation: tuple[str, ...],
) -> int:
    plan = with_row_counts(facts, undo_plan(entry, facts))
    ui.show_plan(plan)
    if plan.refusal:
        return EXIT_FAILED
    if dry_run:
        ui.say("Dry run: nothing was changed.")
        return EXIT_OK
    consent = ask_consent(plan, yes, ui)
    if consent != EXIT_OK:
        return consent
    return apply_with_journal(facts, plan, lock_timeout, ui, options, invocation, undoes=entry.id)


def _undo_facts(
    options: ConfigOptions, invocation: tuple[str, ...], project: ProjectFacts, entry: JournalEntry
) -> Facts:
    """The facts undo needs: the database when the fix changed it; otherwise the database when
    it can be read (to warn about a revision it is at), else the scripts alone."""
    if entry_needs_database(entry):
        return gather_facts(options, invocation=invocation, record=RECORD_NONE)
    try:
        return gather_facts(options, invocation=invocation, record=RECORD_NONE)
    except MigdoctorError:
        return Facts(project=project, database=None, invocation=invocation)


def _judge_unfinished(
    options: ConfigOptions, invocation: tuple[str, ...], entry: JournalEntry
) -> Unfinished:
    """What an entry whose process never finished left, read from the database and files."""
    from migdoctor.database.version_table import read_version_state

    rows: tuple[str, ...] | None = None
    dialect = (entry.record.get("database") or {}).get("dialect")
    if entry_needs_database(entry) and not process_alive(entry):
        try:
            rows = read_version_state(load_project(options)).rows
        except MigdoctorError:
            rows = None
    return judge_unfinished(entry, rows, dialect)
