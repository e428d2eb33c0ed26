"""``migdoctor fix`` and ``migdoctor undo``: plan, show, ask, apply, check again.

Exit codes: 0 the plan was shown or applied (or there was nothing to do); 1 refused by the
state of things (a plan that cannot run, a stamp that disagrees with the schema, the user said
no, a failure that was rolled back); 2 could not run (no consent possible, bad usage, no
database).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from migdoctor.checks import run_checks
from migdoctor.database.capture import RECORD_ALL, RECORD_NONE
from migdoctor.errors import CannotCheck
from migdoctor.facts import Facts
from migdoctor.findings import Finding, FixOption, Risk
from migdoctor.fixes import FIX_MODULES, needs_database, plan_fix
from migdoctor.fixes.apply import apply_plan
from migdoctor.fixes.journal import Journal
from migdoctor.fixes.plan import FixRequest, Plan
from migdoctor.fixes.undo import entry_needs_database, undo_plan
from migdoctor.gather import gather_facts, load_project
from migdoctor.project.config import ConfigOptions
from migdoctor.report import Report

if TYPE_CHECKING:
    from migdoctor.render.interaction import TerminalInteraction

EXIT_DONE = 0
EXIT_REFUSED = 1
EXIT_CANNOT = 2


def _facts(options: ConfigOptions, invocation: tuple[str, ...], offline: bool = False) -> Facts:
    # a stamp is verified against every revision's operations
    return gather_facts(options, offline=offline, invocation=invocation, record=RECORD_ALL)


def _findings(facts: Facts) -> list[Finding]:
    return list(Report(facts, tuple(run_checks(facts))).findings)


def show_plans(options: ConfigOptions, invocation: tuple[str, ...], ui: TerminalInteraction) -> int:
    """``migdoctor fix``: the plan of every fix option of every finding; nothing changes."""
    facts = _facts(options, invocation)
    findings = [finding for finding in _findings(facts) if finding.fixes]
    if not findings:
        ui.say("[green]No problems with a repair: nothing to fix.[/]")
        return EXIT_DONE
    for finding in findings:
        ui.say(f"\n[bold]{finding.check}[/] ({finding.code}): {finding.title}")
        for option in finding.fixes:
            plan = plan_fix(facts, FixRequest(option.id, option.revision, session=option.session))
            ui.show_plan(plan, command=option.command)
    ui.say(
        "\nNothing was changed. Apply a fix with its command, or walk through them with "
        f"[bold]{ui.command('fix', '--interactive')}[/]."
    )
    return EXIT_DONE


def fix_one(
    options: ConfigOptions,
    invocation: tuple[str, ...],
    request: FixRequest,
    *,
    yes: bool,
    dry_run: bool,
    lock_timeout: float,
    ui: TerminalInteraction,
) -> int:
    """``migdoctor fix FIX-ID``: one fix, for scripts and CI (consent: --yes or a terminal)."""
    if request.fix not in FIX_MODULES:
        raise CannotCheck(f"Unknown fix {request.fix!r}.", hint=f"Fixes: {', '.join(FIX_MODULES)}.")
    facts = _facts(options, invocation, offline=not needs_database(request.fix))
    recommended = _recommended_option(facts, request.fix)
    if request.revision is None and recommended is not None:
        # the revision the findings recommend; a session to end is never picked for the user
        request = FixRequest(request.fix, recommended.revision, request.force, request.session)
    plan = plan_fix(facts, request)
    ui.show_plan(plan)
    if plan.refusal:
        return EXIT_REFUSED
    if plan.blockers and not request.force:
        ui.error(
            "Refused: the evidence above says this fix is wrong here. --force applies it anyway."
        )
        return EXIT_REFUSED
    if dry_run:
        ui.say("Dry run: nothing was changed; the plan above is what would have been applied.")
        return EXIT_DONE
    consent = _consent(plan, yes, ui)
    if consent != EXIT_DONE:
        return consent
    return _apply(facts, plan, lock_timeout, ui, options, invocation)


def _recommended_option(facts: Facts, fix_id: str) -> FixOption | None:
    """The first fix option of that id the findings offer."""
    for finding in _findings(facts):
        for option in finding.fixes:
            if option.id == fix_id:
                return option
    return None


def _consent(plan: Plan, yes: bool, ui: TerminalInteraction) -> int:
    if yes:
        return EXIT_DONE
    if not ui.is_terminal:
        ui.error(
            "This changes the database or the scripts and needs your consent: run it in a "
            "terminal, or pass --yes. Nothing was changed."
        )
        return EXIT_CANNOT
    if not ui.confirm("Apply this plan?", default=plan.risk == Risk.SAFE):
        ui.say("Nothing was changed.")
        return EXIT_REFUSED
    return EXIT_DONE


def _apply(
    facts: Facts,
    plan: Plan,
    lock_timeout: float,
    ui: TerminalInteraction,
    options: ConfigOptions,
    invocation: tuple[str, ...],
    undoes: str | None = None,
) -> int:
    journal = Journal(facts.project.config.base_directory)
    applied = apply_plan(facts, plan, journal, lock_timeout, undoes=undoes, events=ui.events(plan))
    if undoes is not None:
        journal.finish(undoes, "undone", by=applied.entry_id)
    ui.say(
        f"[green]Applied[/] {plan.fix} (journal entry {applied.entry_id}; "
        f"{'migdoctor undo --list shows it' if undoes else 'migdoctor undo takes it back'})."
    )
    _recheck(options, invocation, ui)
    return EXIT_DONE


def _recheck(
    options: ConfigOptions,
    invocation: tuple[str, ...],
    ui: TerminalInteraction,
    findings: list[Finding] | None = None,
) -> None:
    """Show what the checks find now (``findings``: already found on the current state)."""
    if findings is None:
        try:
            facts = gather_facts(options, invocation=invocation)
        except CannotCheck as error:
            # a fix of the scripts alone does not need the database: check what can be checked
            ui.text(f"The database could not be checked again ({error.message}).")
            facts = gather_facts(options, offline=True, invocation=invocation)
        findings = _findings(facts)
    if not findings:
        ui.say("[green]Checked again: no problems found.[/]")
        return
    ui.say("Checked again; still found:")
    for finding in findings:
        ui.still_found(finding)


def interactive(
    options: ConfigOptions,
    invocation: tuple[str, ...],
    *,
    lock_timeout: float,
    ui: TerminalInteraction,
) -> int:
    """``migdoctor fix --interactive``: each finding, its options safest first, the plan, consent.

    Enter picks the recommended option, and answers "apply?" with yes only for safe fixes, so
    pressing Enter everywhere never applies a caution or dangerous fix.
    """
    from migdoctor.render.interaction import Quit

    if not ui.is_terminal:
        ui.error(
            "fix --interactive needs a terminal to ask you; "
            "in scripts use migdoctor fix FIX-ID --yes."
        )
        return EXIT_CANNOT
    passed: set[tuple[str, str]] = set()
    applied = 0
    findings: list[Finding] | None = None
    while True:
        if findings is None:  # the first time, and after each repair
            facts = _facts(options, invocation)
            findings = _findings(facts)
        waiting = [f for f in findings if f.fixes and (f.check, f.message) not in passed]
        if not waiting:
            break
        finding = waiting[0]
        ui.show_finding(finding)
        try:
            option = ui.choose_fix(finding)
        except Quit:
            break
        if option is None:
            passed.add((finding.check, finding.message))
            continue
        plan = plan_fix(facts, FixRequest(option.id, option.revision, session=option.session))
        ui.show_plan(plan)
        if plan.refusal:
            passed.add((finding.check, finding.message))
            continue
        if plan.blockers and not ui.confirm(
            "The evidence says this fix is wrong here. Apply it anyway?", default=False
        ):
            passed.add((finding.check, finding.message))
            continue
        if not ui.confirm(f"Apply {option.id}?", default=plan.risk == Risk.SAFE):
            ui.say("Not applied.")
            passed.add((finding.check, finding.message))
            continue
        journal = Journal(facts.project.config.base_directory)
        entry = apply_plan(facts, plan, journal, lock_timeout, events=ui.events(plan))
        applied += 1
        findings = None
        ui.say(f"[green]Applied[/] {plan.fix} (journal entry {entry.entry_id}).")
    ui.say(f"\n{applied} fix{'es' if applied != 1 else ''} applied.")
    _recheck(options, invocation, ui, findings)
    return EXIT_DONE


def undo(
    options: ConfigOptions,
    invocation: tuple[str, ...],
    *,
    yes: bool,
    dry_run: bool,
    list_entries: bool,
    lock_timeout: float,
    ui: TerminalInteraction,
) -> int:
    """``migdoctor undo``: revert the last applied fix, if the state is still what it left."""
    from migdoctor.render.plans import render_journal

    project = load_project(options)
    journal = Journal(project.config.base_directory)
    if list_entries:
        render_journal(journal.entries(), ui.console)
        return EXIT_DONE
    entry = journal.last_to_undo()
    if entry is None:
        ui.say("Nothing to undo: the journal holds no applied fix.")
        return EXIT_REFUSED
    record = RECORD_NONE
    facts = (
        gather_facts(options, invocation=invocation, record=record)
        if entry_needs_database(entry)
        else Facts(project=project, database=None, invocation=invocation)
    )
    plan = undo_plan(entry, facts)
    ui.show_plan(plan)
    if plan.refusal:
        return EXIT_REFUSED
    if dry_run:
        ui.say("Dry run: nothing was changed.")
        return EXIT_DONE
    consent = _consent(plan, yes, ui)
    if consent != EXIT_DONE:
        return consent
    return _apply(facts, plan, lock_timeout, ui, options, invocation, undoes=entry.id)
