"""Talking with the user during a repair: findings, choices, plans and consent, on a terminal."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape
from rich.prompt import Confirm, Prompt

from migdoctor.findings import Finding, FixOption
from migdoctor.fixes.plan import Plan
from migdoctor.redact import redact
from migdoctor.render.plans import plan_renderable
from migdoctor.render.text import RISK_STYLE, finding_panel


class Quit(Exception):
    """The user asked to stop."""


class TerminalInteraction:
    def __init__(self, console: Console) -> None:
        self.console = console

    @property
    def is_terminal(self) -> bool:
        return sys.stdin.isatty()

    def say(self, markup: str) -> None:
        self.console.print(markup)

    def text(self, text: str) -> None:
        self.console.print(escape(redact(text)))

    def error(self, text: str) -> None:
        self.console.print(f"[bold red]{escape(redact(text))}[/]")

    def show_finding(self, finding: Finding) -> None:
        self.console.print(finding_panel(finding))

    def still_found(self, finding: Finding) -> None:
        """One line for a finding left after a repair, with the command to try next."""
        self.console.print(f"  ✗ [bold]{finding.check}[/] {escape(redact(finding.title))}")
        recommended = finding.recommended_fix
        if recommended is not None:
            self.console.print(f"      next: [cyan]{escape(redact(recommended.command))}[/]")

    def show_plan(self, plan: Plan, command: str | None = None) -> None:
        self.console.print(plan_renderable(plan, command))

    def progress(self, text: str) -> None:
        self.console.print(f"  [green]✓[/] {escape(text)}")

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

    def confirm(self, question: str, default: bool) -> bool:
        return Confirm.ask(question, default=default, console=self.console)
