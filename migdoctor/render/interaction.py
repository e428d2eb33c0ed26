"""Talking with the user during a repair: findings, choices, plans and consent, on a terminal."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape
from rich.prompt import Confirm, Prompt

from migdoctor.facts.migration_run import MigrationEvents, RevisionFailed
from migdoctor.findings import Finding, FixOption
from migdoctor.gathering.aftermath import Aftermath
from migdoctor.redact import redact, redact_foreign
from migdoctor.render.plans import plan_renderable
from migdoctor.render.text import RISK_STYLE, SEVERITY_MARK, SEVERITY_STYLE, finding_panel
from migdoctor.repair.plan import Plan


class Quit(Exception):
    """The user asked to stop."""


class TerminalInteraction:
    def __init__(self, console: Console, invocation: tuple[str, ...] = ("migdoctor",)) -> None:
        self.console = console
        # ``migdoctor`` with this run's -c/-n/-x/--url, to write commands that work as shown
        self.invocation = invocation

    def command(self, *words: str) -> str:
        """A migdoctor command line for this project, passwords masked, escaped for markup."""
        return escape(redact(" ".join((*self.invocation, *words))))

    @property
    def is_terminal(self) -> bool:
        return sys.stdin.isatty()

    def say(self, markup: str) -> None:
        self.console.print(markup)

    def text(self, text: str) -> None:
        self.console.print(escape(redact(text)))

    def error(self, text: str) -> None:
        self.console.print(f"[bold red]{escape(redact(text))}[/]")

    def lock_wait(self, holder: str) -> None:
        """Another run holds the migration lock: say who, before waiting for it."""
        from migdoctor.render.progress import MigrationProgress

        MigrationProgress(self.console, "fix").lock_wait(holder)

    def show_finding(self, finding: Finding) -> None:
        self.console.print(finding_panel(finding))

    def still_found(self, finding: Finding) -> None:
        """One line for a finding left after a repair, with the command to try next."""
        style, mark = SEVERITY_STYLE[finding.severity], SEVERITY_MARK[finding.severity]
        self.console.print(
            f"  [{style}]{mark}[/] [bold]{finding.check}[/] {escape(redact(finding.title))}"
        )
        recommended = finding.recommended_fix
        if recommended is not None:
            self.console.print(f"      next: [cyan]{escape(redact(recommended.command))}[/]")

    def show_plan(self, plan: Plan, command: str | None = None) -> None:
        self.console.print(plan_renderable(plan, command))

    def events(self, plan: Plan) -> MigrationEvents:
        """Progress of the migrations a plan runs (revision k of n, with its time)."""
        from migdoctor.render.progress import MigrationProgress

        verb = plan.migration.direction if plan.migration is not None else plan.fix
        return MigrationProgress(self.console, verb).events()

    def choose_fix(self, finding: Finding) -> FixOption | None:
        """A fix option (the recommended one on Enter), None to skip; Quit to stop."""
        self.console.print("[bold]How do you want to repair it?[/]")
        for number, fix in enumerate(finding.fixes, 1):
            mark = " [bold](recommended)[/]" if fix is finding.recommended_fix else ""
            self.console.print(
                f"  {number}. [bold]{escape(fix.id)}[/] · "
                f"[{RISK_STYLE[fix.risk]}]{fix.risk.value}[/]"
                f"{mark} — {escape(redact(fix.title))}"
            )
        self.console.print("  s. skip this finding    q. quit")
        recommended = finding.recommended_fix
        default = str(finding.fixes.index(recommended) + 1) if recommended else "s"
        choices = [str(n) for n in range(1, len(finding.fixes) + 1)] + ["s", "q"]
        answer = Prompt.ask("Choose", choices=choices, default=default, console=self.console)
        if answer == "q":
            raise Quit
        if answer == "s":
            return None
        return finding.fixes[int(answer) - 1]

    def refuse(self, findings: list[Finding], reason: str) -> None:
        """A preflight refusal: the findings that predict failure, then what to do."""
        for finding in findings:
            self.console.print(finding_panel(finding))
        self.console.print(f"[bold red]{escape(redact(reason))}[/]")
        if any(finding.fixes for finding in findings):
            self.console.print(
                "Repair first with the commands above, or run again with --no-preflight "
                "to let alembic try anyway."
            )
        elif findings:
            self.console.print(
                "migdoctor has no repair to offer for this; run again with --no-preflight to "
                "let alembic try anyway."
            )

    def migrated(
        self,
        direction: str,
        steps: list[tuple[str, str, float]],
        rows_before: tuple[str, ...],
        rows_after: tuple[str, ...],
    ) -> None:
        now = ", ".join(rows_after) or "no revision"
        if not steps and direction != "stamp":
            self.console.print(f"Nothing to {direction}: the database is at {escape(now)}.")
            return
        seconds = sum(step[2] for step in steps)
        if direction == "stamp":
            self.console.print(f"Stamped: the version table now holds {escape(now)}.")
            return
        count = len(steps)
        self.console.print(
            f"[green]{'Upgraded' if direction == 'upgrade' else 'Downgraded'}[/] {count} "
            f"revision{'s' if count != 1 else ''} in {seconds:.1f}s; the database is now at "
            f"{escape(now)}."
        )

    def revision_failed(
        self,
        failure: RevisionFailed,
        dialect: str,
        lock_timeout: float,
        aftermath: Aftermath,
        downgrade: bool = False,
    ) -> None:
        """Which revision failed (or was running when the run stopped), why, who was in the
        way, and what the database holds now, read back (``downgrade``: the revision's
        downgrade() was running)."""
        self.console.print(f"[bold red]✗ {escape(redact_foreign(failure.message))}[/]")
        if failure.statement:
            statement = " ".join(failure.statement.split())
            self.console.print(f"  while running: {escape(redact(statement))}")
        if failure.lock_timeout:
            self.console.print(
                f"  It waited {lock_timeout:g}s (--lock-timeout, or lock_timeout in the settings) "
                "for a lock another session holds."
            )
            for blocker in failure.blockers:
                ending = escape(blocker.ending_statement(failure.dialect or dialect))
                fix = self.command("fix", "end-session", "--session", blocker.session_id)
                self.console.print(f"  in the way: {escape(redact(blocker.describe()))}")
                self.console.print(
                    f"    to end it (dangerous: its transaction is rolled back): "
                    f"[cyan]{fix}[/] "
                    f"or in SQL: [cyan]{ending}[/]"
                )
            if not failure.blockers and dialect == "sqlite":
                self.console.print(
                    "  Another connection holds SQLite's write lock (SQLite cannot say which "
                    "process): end that program's transaction, then try again."
                )
            elif not failure.blockers:
                self.console.print("  The session in the way has ended since; try again.")
        if failure.completed:
            self.console.print(
                f"  Completed before it: {escape(', '.join(failure.completed))} "
                "(the version table below says what the database kept)."
            )
        self.console.print(f"  {escape(redact(aftermath.words()))}")
        unchanged = (
            aftermath.version_rows is not None
            and failure.rows_before is not None
            and sorted(aftermath.version_rows) == sorted(failure.rows_before)
        )
        if downgrade and unchanged and aftermath.in_schema and not aftermath.not_in_schema:
            # microblog (github.com/miguelgrinberg/microblog) on MariaDB: revision
            # f7ac3d27bb1d's downgrade drops an index a foreign key needs, first of all; the
            # revision is whole, not half applied, and check has nothing to add
            self.console.print(
                f"  Nothing of the downgrade took effect: all that {escape(failure.revision)} "
                "made is still in the schema, and the version table is as before. Its "
                "downgrade() fails on this database at the statement above."
            )
        elif aftermath.in_schema and aftermath.version_rows is not None:
            if aftermath.half_applied and not aftermath.not_in_schema:
                # PowerDNS-Admin (github.com/ngoduykhanh/PowerDNS-Admin): its first revision
                # failed on its last seed insert; the tables stayed, the rows did not, and
                # "partial-migration diagnoses it" sent the user to a check that (rightly)
                # saw the revision's schema whole and offered a stamp
                self.console.print(
                    f"  All of {escape(failure.revision)}'s schema changes are in place; what "
                    "the schema cannot show (listed above) may not have run. Fix the error in "
                    "the revision, put that data right by hand, then "
                    f"{self.command('check')} offers to record the revision."
                )
            elif aftermath.half_applied:
                self.console.print(
                    f"  {escape(failure.revision)} is half applied: the database did not roll "
                    f"its DDL back. {self.command('check')} (partial-migration) diagnoses it "
                    "and offers repairs."
                )
            else:
                self.console.print(
                    f"  {self.command('check')} says what to do with it (table-exists, "
                    "partial-migration)."
                )
        elif aftermath.version_rows is not None and failure.rows_before is not None:
            before = ", ".join(failure.rows_before) or "no revision"
            if sorted(aftermath.version_rows) == sorted(failure.rows_before):
                self.console.print(
                    f"  The version table is as before this run (it started at {escape(before)})."
                )

    def confirm(self, question: str, default: bool) -> bool:
        return Confirm.ask(question, default=default, console=self.console)
