"""A fleet's outcome: a summary table for people (target, current, status, findings), one JSON
document for machines, and one line per target as upgrades finish."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from migdoctor.errors import EXIT_CANNOT, EXIT_FAILED, EXIT_OK
from migdoctor.redact import redact
from migdoctor.render.json import SCHEMA_VERSION, redacted

if TYPE_CHECKING:
    from rich.console import Console

    from migdoctor.facts.fleet import TargetOutcome

STATUS = {EXIT_OK: "healthy", EXIT_FAILED: "problems", EXIT_CANNOT: "could not check"}


def fleet_document(outcomes: list[TargetOutcome], exit_code: int) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "exit_code": exit_code,
        "targets": [
            {
                "name": outcome.target.name,
                "url": redact(outcome.target.url),
                "x_arguments": list(outcome.target.x_arguments),
                "exit_code": outcome.exit_code,
                "status": _status(outcome),
                "error": outcome.error,
                "report": outcome.report,
            }
            for outcome in outcomes
        ],
    }


def render_fleet_json(outcomes: list[TargetOutcome], exit_code: int) -> str:
    return json.dumps(redacted(fleet_document(outcomes, exit_code)), indent=2, default=str)


def render_fleet_text(outcomes: list[TargetOutcome], exit_code: int, console: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{len(outcomes)} targets", title_justify="left")
    for column in ("target", "current", "status", "findings"):
        table.add_column(column, overflow="fold")
    for outcome in outcomes:
        table.add_row(
            escape(outcome.target.name),
            escape(_current(outcome)),
            _status(outcome),
            escape(redact(_findings(outcome))),
        )
    console.print(table)
    counts = {code: sum(1 for o in outcomes if o.exit_code == code) for code in STATUS}
    console.print(
        f"{counts[EXIT_OK]} healthy, {counts[EXIT_FAILED]} with problems, "
        f"{counts[EXIT_CANNOT]} could not be checked. Details of one target: "
        "migdoctor check --url URL (its line of the targets file)."
    )


def render_upgraded(outcome: TargetOutcome, console: Console) -> None:
    """One target's upgrade, as it ends: a line saying how, then what the run printed."""
    from rich.markup import escape

    verdict = (
        "[green]done[/]"
        if outcome.exit_code == EXIT_OK
        else "[red]refused or failed[/]"
        if outcome.exit_code == EXIT_FAILED
        else "[red]could not run[/]"
    )
    console.print(
        f"[bold]{escape(outcome.target.name)}[/] ({escape(redact(outcome.target.url))}): {verdict}"
    )
    text = outcome.error or outcome.output.rstrip()
    for line in text.splitlines():
        console.print("  " + escape(redact(line)), soft_wrap=True)


def render_upgrade_summary(
    outcomes: list[TargetOutcome], total: int, keep_going: bool, console: Console
) -> None:
    done = sum(1 for outcome in outcomes if outcome.exit_code == EXIT_OK)
    failed = [outcome.target.name for outcome in outcomes if outcome.exit_code != EXIT_OK]
    line = f"{done} of {total} targets upgraded"
    if failed:
        line += f"; not: {', '.join(failed)}"
    left = total - len(outcomes)
    if left:
        line += (
            f". Stopped at the first failure: {left} target(s) not tried (--keep-going tries "
            "them all); run the same command again after the repair to go on from there"
        )
    console.print(line + ".")


def _status(outcome: TargetOutcome) -> str:
    return STATUS.get(outcome.exit_code, f"exit {outcome.exit_code}")


def _current(outcome: TargetOutcome) -> str:
    database = (outcome.report or {}).get("database") or {}
    rows = database.get("current")
    if rows is None:
        return "-"
    return ", ".join(rows) if rows else "(empty)"


def _findings(outcome: TargetOutcome) -> str:
    if outcome.error:
        return outcome.error
    findings = (outcome.report or {}).get("findings", [])
    if not findings:
        return "-"
    return "; ".join(f"{f['severity']} {f['check']}: {f['title']}" for f in findings)
