"""Plans and the journal, for people: exactly what a fix will change, before it changes it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from migdoctor.fixes.journal import JournalEntry
from migdoctor.fixes.plan import Plan
from migdoctor.redact import redact
from migdoctor.render.text import RISK_STYLE


def _t(text: str) -> str:
    return escape(redact(text))


def plan_renderable(plan: Plan, command: str | None = None) -> Group:
    parts: list[Any] = [
        Text.from_markup(
            f"[bold]Plan[/] · [bold]{_t(plan.fix)}[/] · "
            f"[{RISK_STYLE[plan.risk]}]{plan.risk.value}[/] — {_t(plan.title)}"
        )
    ]
    if command:
        parts.append(Text.from_markup(f"  [cyan]$ {_t(command)}[/]"))
    if plan.refusal:
        parts.append(Text.from_markup(f"  [bold red]Cannot run:[/] {_t(plan.refusal)}"))
        return Group(*parts)
    change = plan.version_table
    if change is not None:
        before = ", ".join(change.rows_before) or ("no table" if change.create_table else "empty")
        after = ", ".join(change.rows_after) or ("no table" if change.drop_table else "empty")
        parts.append(
            Text.from_markup(
                f"  Version table {_t(change.qualified_table)}: {_t(before)} → [bold]{_t(after)}[/]"
            )
        )
        for statement in change.statements:
            for line in f"{redact(statement)};".splitlines():
                parts.append(Text(f"    {line}", style="cyan"))
    for file_change in plan.files:
        if file_change.diff.startswith("---"):
            parts.extend(_diff_lines(file_change.diff))
        else:
            parts.append(Text(f"    {redact(file_change.diff or str(file_change.path))}"))
    if plan.migration is not None:
        run = plan.migration
        count = len(run.steps)
        parts.append(
            Text.from_markup(
                f"  Runs {count} revision{'s' if count != 1 else ''} ({run.direction} to "
                f"{_t(run.destination)}), in this order:"
            )
        )
        for revision, what in run.steps:
            parts.append(Text(f"    {revision}  {redact(what)}"))
    if plan.merge is not None:
        parts.append(
            Text(
                f"  Writes merge revision {plan.merge.revision_id} over "
                f"{', '.join(plan.merge.heads)} (alembic merge, message '{plan.merge.message}')"
            )
        )
    if plan.end_session is not None:
        parts.append(Text(f"  Ends {plan.end_session.described_as}"))
        parts.append(Text(f"    {plan.end_session.statement};", style="cyan"))
    for warning in plan.warnings:
        parts.append(Text.from_markup(f"  [yellow]![/] {_t(warning)}"))
    for blocker in plan.blockers:
        parts.append(Text.from_markup(f"  [bold red]✗[/] {_t(blocker)}"))
    if plan.blockers:
        parts.append(Text.from_markup("  [bold red]Refused without --force.[/]"))
    return Group(*parts)


def _diff_lines(diff: str) -> list[Text]:
    styles = {"+": "green", "-": "red", "@": "cyan"}
    lines = []
    for line in diff.splitlines():
        style = "bold" if line.startswith(("---", "+++")) else styles.get(line[:1], "")
        lines.append(Text(f"    {redact(line)}", style=style))
    return lines


def render_plan(plan: Plan, console: Console, command: str | None = None) -> None:
    console.print(plan_renderable(plan, command))


def render_journal(entries: Sequence[JournalEntry], console: Console) -> None:
    if not entries:
        console.print("The journal is empty: no fix was applied in this project.")
        return
    table = Table(box=None, pad_edge=False)
    table.add_column("entry", style="bold", no_wrap=True)
    table.add_column("fix", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("what")
    for entry in entries:
        status = entry.status
        if entry.state and status in ("failed", "interrupted"):
            status += f" (left {entry.state})"
        table.add_row(entry.id, entry.fix, status, redact(entry.record.get("title", "")))
    console.print(table)
