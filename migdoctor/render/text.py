"""The report for people: one line per check, a panel per finding, a summary line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from migdoctor.checks.report import Report
from migdoctor.findings import Finding, Risk, Severity
from migdoctor.operations.schema_position import schema_position
from migdoctor.redact import redact

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
SEVERITY_MARK = {Severity.ERROR: "✗", Severity.WARNING: "!", Severity.INFO: "i"}
RISK_STYLE = {Risk.SAFE: "green", Risk.CAUTION: "yellow", Risk.DANGEROUS: "bold red"}


def _t(text: str) -> str:
    """Escape for rich markup, after masking secrets."""
    return escape(redact(text))


def render_text(report: Report, console: Console) -> None:
    _header(report, console)
    console.print()
    width = max((len(outcome.check.slug) for outcome in report.outcomes), default=0) + 1
    for outcome in report.outcomes:
        check = outcome.check
        if outcome.status == "passed":
            console.print(f"  [green]✓[/] {check.slug:<{width}} {_t(check.healthy)}")
        elif outcome.status == "skipped":
            console.print(f"  [dim]- {check.slug:<{width}} skipped: {_t(outcome.reason)}[/]")
        else:
            for finding in outcome.findings:
                style = SEVERITY_STYLE[finding.severity]
                mark = SEVERITY_MARK[finding.severity]
                console.print(f"  [{style}]{mark}[/] {finding.check:<{width}} {_t(finding.title)}")
    for finding in report.findings:
        console.print()
        # the console soft-wraps plain lines; a panel must wrap its text or rich crops it
        console.print(finding_panel(finding), soft_wrap=False)
    console.print()
    console.print(_summary(report))


def _header(report: Report, console: Console) -> None:
    facts = report.facts
    project = facts.project
    config = project.config.config_file
    console.print(
        f"[bold]migdoctor {report.version}[/] checking {_t(str(config or 'configuration'))}"
    )
    heads = ", ".join(project.heads) or "none"
    count = len(project.scripts)
    location = project.relative(project.config.script_location)
    console.print(
        f"  scripts   {_t(location)} · {count} revision{'s' if count != 1 else ''} · "
        f"head{'s' if len(project.heads) > 1 else ''} {_t(heads)}",
    )
    database = facts.database
    if database is None:
        console.print("  database  [dim]not checked (--offline)[/]")
        return
    server = f" ({database.server_version})" if database.server_version.known else ""
    if not database.version_table_exists:
        current = f"no {database.qualified_version_table} table"
    elif not database.version_rows:
        current = f"{database.qualified_version_table} is empty"
    else:
        current = f"{database.qualified_version_table}: {', '.join(database.version_rows)}"
    console.print(
        f"  database  {_t(database.url)} · {database.dialect}{_t(server)} · {_t(current)}"
    )
    if database.unchecked_runs:
        # env.py migrates several schemas or databases in one run: say which one this is
        console.print(
            f"  checked   {_t(database.where)}, the first of "
            f"{len(database.unchecked_runs) + 1} that env.py migrates in one run"
        )
        for run in database.unchecked_runs:
            state = (
                f"{database.version_table}: {', '.join(run.version_rows)}"
                if run.version_rows
                else f"{database.version_table} "
                + ("is empty" if run.version_table_exists else "does not exist")
            )
            console.print(f"  unchecked {_t(run.where)} · {_t(state)}")
    position = schema_position(facts)
    if position is not None:
        console.print(f"  schema    {_t(position.words())}")


def finding_panel(finding: Finding) -> Panel:
    style = SEVERITY_STYLE[finding.severity]
    parts: list[Any] = [
        Text(redact(finding.title), style="bold"),
        Text(""),
        Text(redact(finding.message)),
    ]
    if finding.evidence:
        parts += [
            Text(""),
            Text("Evidence", style="bold"),
            Padding(_evidence_table(finding.evidence), (0, 0, 0, 2)),
        ]
    if finding.fixes:
        parts += [Text(""), Text("Fix options, safest first", style="bold")]
        fixes = Table.grid(padding=(0, 1))
        fixes.add_column(no_wrap=True)
        fixes.add_column()
        for number, fix in enumerate(finding.fixes, 1):
            recommended = " · [bold]recommended[/]" if fix.recommended else ""
            lines = [
                f"[bold]{_t(fix.id)}[/] · [{RISK_STYLE[fix.risk]}]{fix.risk.value}[/]"
                f"{recommended} — {_t(fix.title)}"
            ]
            if fix.why:
                lines.append(f"[dim]{_t(fix.why)}[/]")
            lines.append(f"[cyan]$ {_t(fix.command)}[/]")
            fixes.add_row(f"{number}.", Text.from_markup("\n".join(lines)))
        parts.append(Padding(fixes, (0, 0, 0, 2)))
    mark = SEVERITY_MARK[finding.severity]
    title = f"[{style}]{mark} {finding.severity.value}[/] · {finding.code} · {finding.check}"
    return Panel(Group(*parts), title=title, title_align="left", border_style=style, expand=True)


def _evidence_table(evidence: Mapping[str, Any]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column()
    for key, value in evidence.items():
        if value in (None, [], {}, ""):
            continue
        table.add_row(key.replace("_", " "), _evidence_value(value))
    return table


# how many items of a long evidence list the text report shows (JSON and SARIF show them all)
SHOWN_LINES = 12
SHOWN_ITEMS = 30


def _evidence_value(value: Any) -> Text:
    if isinstance(value, tuple):  # as JSON writes it: a list
        value = list(value)
    if isinstance(value, list):
        if value and all(isinstance(item, Mapping) for item in value):
            lines = [_mapping_line(item) for item in value[:SHOWN_LINES]]
            lines += _more(len(value) - SHOWN_LINES)
            return Text(redact("\n".join(lines)))
        shown = ", ".join(str(item) for item in value[:SHOWN_ITEMS])
        return Text(redact(" ".join([shown, *_more(len(value) - SHOWN_ITEMS)])))
    if isinstance(value, Mapping):
        return Text(redact("\n".join(f"{k}: {_inline(v)}" for k, v in value.items())))
    return Text(redact(str(value)))


def _more(hidden: int) -> list[str]:
    return [f"… and {hidden} more (all of them: --format json)"] if hidden > 0 else []


def _mapping_line(item: Mapping[str, Any]) -> str:
    head_key = next(iter(item), None)
    if head_key is None:
        return ""
    rest = [
        f"{k.replace('_', ' ')}: {_inline(v)}"
        for k, v in item.items()
        if k != head_key and v not in (None, [], {}, "")
    ]
    return f"• {_inline(item[head_key])}" + (f" — {'; '.join(rest)}" if rest else "")


def _inline(value: Any) -> str:
    if isinstance(value, tuple):  # as JSON writes it: a list
        value = list(value)
    if isinstance(value, list):
        if value and all(isinstance(item, Mapping) for item in value):
            return "; ".join(_mapping_line(item).lstrip("• ") for item in value)
        return ", ".join(str(item) for item in value) or "none"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_inline(v)}" for k, v in value.items())
    return str(value)


def _summary(report: Report) -> str:
    errors = report.count(Severity.ERROR)
    warnings = report.count(Severity.WARNING)
    infos = report.count(Severity.INFO)
    if not report.findings:
        return "[green]No problems found.[/]"
    parts = [
        f"[bold red]{errors} error{'s' if errors != 1 else ''}[/]" if errors else "0 errors",
        f"[yellow]{warnings} warning{'s' if warnings != 1 else ''}[/]"
        if warnings
        else "0 warnings",
        f"{infos} info{'s' if infos != 1 else ''}",
    ]
    repairable = any(finding.fixes for finding in report.findings)
    command = " ".join((*report.facts.invocation, "fix", "--interactive"))
    hint = f" · repair with [bold]{_t(command)}[/]" if repairable else ""
    return ", ".join(parts) + hint
