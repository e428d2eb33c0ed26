"""``migdoctor fix``: plan, show, ask, apply, check again (``commands/undo.py`` takes a fix back).

Exit codes: 0 the plan was shown or applied (or there was nothing to do); 1 refused by the
state of things (a plan that cannot run, a stamp that disagrees with the schema, the user said
no, a failure that was rolled back); 2 could not run (no consent possible, bad usage, no
database).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from typing import TYPE_CHECKING

from migdoctor.checks import run_checks
from migdoctor.checks.report import Report
from migdoctor.commands.run_settings import writer_settings
from migdoctor.database.capture import RECORD_ALL
from migdoctor.errors import EXIT_CANNOT, EXIT_FAILED, EXIT_OK, MigdoctorError
from migdoctor.facts.model import Facts
from migdoctor.findings import Finding, FixOption, Risk
from migdoctor.fixes import FIX_MODULES, needs_database, plan_fix
from migdoctor.gathering.gather import gather_facts, load_project
from migdoctor.project.config import ConfigOptions
from migdoctor.repair.apply import apply_plan
from migdoctor.repair.journal import Journal
from migdoctor.repair.plan import FixRequest, Plan

if TYPE_CHECKING:
    from migdoctor.render.interaction import TerminalInteraction


def _facts(
    options: ConfigOptions,
    invocation: tuple[str, ...],
    offline: bool = False,
    compare_revisions: tuple[str, ...] = (),
    look_up_in_git: tuple[str, ...] = (),
) -> Facts:
    # a stamp is verified against the schema at its revision; restore-revision looks its
    # revision up in git
    return gather_facts(
        options,
        offline=offline,
        invocation=invocation,
        record=RECORD_ALL,
        compare_revisions=compare_revisions,
        look_up_in_git=look_up_in_git,
    )


@contextmanager
def migration_lock_first(
    options: ConfigOptions, lock_timeout: float, ui: TerminalInteraction, purpose: str
) -> Iterator[None]:
    """Every writer takes the database's migration lock before it reads anything: the facts a
    fix is planned from are then not another run's half-done work, and nothing moves between
    the plan and its application."""
    from migdoctor.database.migrations import hold_migration_lock

    project = load_project(options)
    with hold_migration_lock(project, lock_timeout, purpose=purpose, on_wait=ui.lock_wait):
        yield


def _findings(facts: Facts) -> list[Finding]:
    return list(Report(facts, tuple(run_checks(facts))).findings)


def show_plans(options: ConfigOptions, invocation: tuple[str, ...], ui: TerminalInteraction) -> int:
    """``migdoctor fix``: the plan of every fix option of every finding; nothing changes."""
    facts = _facts(options, invocation)
    findings = [finding for finding in _findings(facts) if finding.fixes]
    if not findings:
        ui.say("[green]No problems with a repair: nothing to fix.[/]")
        return EXIT_OK
    for finding in findings:
        ui.say(f"\n[bold]{finding.check}[/] ({finding.code}): {finding.title}")
        for option in finding.fixes:
            request = FixRequest(option.id, option.revision, session=option.session)
            plan = prepared(facts, plan_fix(facts, request))
            ui.show_plan(plan, command=option.command)
    ui.say(
        "\nNothing was changed. Apply a fix with its command, or walk through them with "
        f"[bold]{ui.command('fix', '--interactive')}[/]."
    )
    return EXIT_OK


def fix_one(
    options: ConfigOptions,
    invocation: tuple[str, ...],
    request: FixRequest,
    *,
    yes: bool,
    dry_run: bool,
    lock_timeout: float | None,
    ui: TerminalInteraction,
) -> int:
    """``migdoctor fix FIX-ID``: one fix, for scripts and CI (consent: --yes or a terminal).
    ``lock_timeout`` None: the project's setting, else the default (``run_settings``)."""
    if request.fix not in FIX_MODULES:
        raise MigdoctorError(
            f"Unknown fix {request.fix!r}.", hint=f"Fixes: {', '.join(FIX_MODULES)}."
        )
    options, waits = writer_settings(options, lock_timeout)
    # a dry run changes nothing: it reads without waiting for the lock
    locked = needs_database(request.fix) and not dry_run
    with migration_lock_first(options, waits, ui, "fix") if locked else nullcontext():
        return _fix_one(options, invocation, request, yes, dry_run, waits, ui)


def _fix_one(
    options: ConfigOptions,
    invocation: tuple[str, ...],
    request: FixRequest,
    yes: bool,
    dry_run: bool,
    lock_timeout: float,
    ui: TerminalInteraction,
) -> int:
    facts = _facts(
        options,
        invocation,
        offline=not needs_database(request.fix),
        compare_revisions=(request.revision,) if request.revision else (),
        look_up_in_git=(request.revision,)
        if request.revision and request.fix == "restore-revision"
        else (),
    )
    recommended = _recommended_option(facts, request.fix)
    if request.revision is None and recommended is not None:
        # the revision the findings recommend; a session to end is never picked for the user
        request = replace(request, revision=recommended.revision)
    plan = prepared(facts, plan_fix(facts, request))
    ui.show_plan(plan)
    if plan.refusal:
        return EXIT_OK if plan.nothing_to_do else EXIT_FAILED
    if plan.blockers and not request.force:
        ui.error(
            "Refused: the evidence above says this fix is wrong here. --force applies it anyway."
        )
        return EXIT_FAILED
    if dry_run:
        ui.say("Dry run: nothing was changed; the plan above is what would have been applied.")
        return EXIT_OK
    consent = ask_consent(plan, yes, ui)
    if consent != EXIT_OK:
        return consent
    return apply_with_journal(facts, plan, lock_timeout, ui, options, invocation)


def prepared(facts: Facts, plan: Plan) -> Plan:
    """The plan with what only the database can tell, read before consent: the revision it
    writes from the live schema, the rows of what it drops."""
    return with_row_counts(facts, with_schema_revision(facts, plan))


def with_schema_revision(facts: Facts, plan: Plan) -> Plan:
    """A plan that writes a revision of the live schema (baseline), with that revision as
    alembic renders it, in ``files``: the user reads it before consent."""
    wanted = plan.schema_revision
    if wanted is None or plan.refusal or plan.files:
        return plan
    from migdoctor.database.schema_revision import read_schema_revision, version_folder
    from migdoctor.fixes.edits import edited_file

    project = facts.project
    rendered = read_schema_revision(project, wanted.revision_id, wanted.message, wanted.leave_out)
    path = version_folder(project) / rendered.relative_path
    if path.exists():
        return replace(plan, refusal=f"{project.relative(path)} exists already; nothing written.")
    return replace(plan, files=(edited_file(project, path, None, rendered.text),))


def with_row_counts(facts: Facts, plan: Plan) -> Plan:
    """The plan with the rows each table or column it drops holds, counted before consent."""
    if not plan.drops or facts.database is None:
        return plan
    from dataclasses import replace

    from migdoctor.database.row_counts import count_rows

    counts = count_rows(facts.project, tuple((d.schema, d.table, d.column) for d in plan.drops))
    drops = tuple(
        replace(drop, rows=count) if isinstance(count, int) else replace(drop, note=count)
        for drop, count in zip(plan.drops, counts, strict=True)
    )
    return replace(plan, drops=drops)


def _recommended_option(facts: Facts, fix_id: str) -> FixOption | None:
    """The first fix option of that id the findings offer."""
    for finding in _findings(facts):
        for option in finding.fixes:
            if option.id == fix_id:
                return option
    return None


def ask_consent(plan: Plan, yes: bool, ui: TerminalInteraction) -> int:
    if yes:
        return EXIT_OK
    if not ui.is_terminal:
        ui.error(
            "This changes the database or the scripts and needs your consent: run it in a "
            "terminal, or pass --yes. Nothing was changed."
        )
        return EXIT_CANNOT
    if not ui.confirm("Apply this plan?", default=plan.risk == Risk.SAFE):
        ui.say("Nothing was changed.")
        return EXIT_FAILED
    return EXIT_OK


def apply_with_journal(
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
    if undoes or plan.irreversible:
        after = "migdoctor undo --list shows it"
    else:
        after = "migdoctor undo takes it back"
    if plan.irreversible:
        after += "; it cannot be undone, and undo passes over it to the fixes before"
    ui.say(f"[green]Applied[/] {plan.fix} (journal entry {applied.entry_id}; {after}).")
    _recheck(options, invocation, ui)
    return EXIT_OK


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
        except MigdoctorError as error:
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
    lock_timeout: float | None,
    ui: TerminalInteraction,
) -> int:
    """``migdoctor fix --interactive``: each finding, its options safest first, the plan, consent.

    Enter picks the recommended option, and answers "apply?" with yes only for safe fixes, so
    pressing Enter everywhere never applies a caution or dangerous fix.
    """
    if not ui.is_terminal:
        ui.error(
            "fix --interactive needs a terminal to ask you; "
            "in scripts use migdoctor fix FIX-ID --yes."
        )
        return EXIT_CANNOT
    options, waits = writer_settings(options, lock_timeout)
    with migration_lock_first(options, waits, ui, "fix"):
        return _interactive(options, invocation, waits, ui)


def _interactive(
    options: ConfigOptions,
    invocation: tuple[str, ...],
    lock_timeout: float,
    ui: TerminalInteraction,
) -> int:
    from migdoctor.render.interaction import Quit

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
        request = FixRequest(option.id, option.revision, session=option.session)
        plan = prepared(facts, plan_fix(facts, request))
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
    return EXIT_OK
