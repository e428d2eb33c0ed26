"""The round trip's report: a line per revision and what each downgrade left behind, for people
(rich) and as JSON for machines; the same data."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from migdoctor.facts.roundtrip import FAILED, RevisionRoundtrip, RoundtripReport
from migdoctor.redact import redact
from migdoctor.render.json import redacted

if TYPE_CHECKING:
    from rich.console import Console

SCHEMA_VERSION = 1

# full-stack-fastapi-template (github.com/fastapi/full-stack-fastapi-template): a PostgreSQL
# project whose second revision alters a column, which SQLite cannot
SQLITE_HINT = (
    "The round trip ran on a temporary SQLite file. If the project's database is MySQL, "
    "MariaDB or PostgreSQL, its revisions may use what SQLite lacks (ALTER COLUMN, their own "
    "SQL): run it on a server of that kind with --scratch-url URL (the round trip creates and "
    "drops a database of its own there)."
)


def _t(text: str) -> str:
    return escape(redact(text))


def render_roundtrip_text(report: RoundtripReport, console: Console) -> None:
    console.print(
        f"[bold]migdoctor {report.version}[/] round trip of "
        f"{_t(report.config_file or 'the configuration')}"
    )
    count = len(report.revisions)
    console.print(
        f"  scratch   {_t(report.scratch)} · {report.dialect} · created for this run, "
        "dropped after it"
    )
    console.print(f"  revisions {count}, upgraded one at a time, then downgraded one at a time")
    console.print()
    for revision in report.revisions:
        _revision(revision, console)
    console.print()
    if report.final_upgrade_error:
        console.print(
            f"  [bold red]✗[/] upgrade to head again failed: {_t(report.final_upgrade_error)}"
        )
    if report.drift:
        console.print("  [bold red]✗[/] the models differ from the schema at head:")
        for difference in report.drift:
            console.print(f"      - {_t(difference)}")
    elif report.drift_not_compared:
        console.print(f"  [dim]- models not compared: {_t(report.drift_not_compared)}[/]")
    else:
        console.print("  [green]✓[/] the models match the schema at head")
    console.print()
    if report.problems:
        console.print(
            f"[bold red]{report.problems} problem{'s' if report.problems != 1 else ''} found[/] "
            "on the round trip."
        )
        if report.failed_on_sqlite:
            console.print(f"  {SQLITE_HINT}")
    else:
        console.print(
            "[green]Every downgrade undoes its upgrade, and the models match the head.[/]"
        )


def _revision(revision: RevisionRoundtrip, console: Console) -> None:
    label = _t(revision.label)
    if not revision.problem:
        if revision.not_run_because:
            console.print(f"  [dim]- {label}: not checked, {_t(revision.not_run_because)}[/]")
        else:
            console.print(f"  [green]✓[/] {label}: {revision.verdict}")
        return
    console.print(f"  [bold red]✗[/] {label}: {revision.verdict}")
    if revision.upgrade == FAILED:
        console.print(f"      upgrade() raised {_t(revision.upgrade_error)}")
        if revision.tables_never_created:
            tables = ", ".join(revision.tables_never_created)
            console.print(
                f"      It alters {_t(tables)}, which no revision before it creates: this "
                "history does not build the database from empty (the application creates "
                "those tables itself, with create_all() and a stamp, say). A round trip needs "
                "revisions that create every table they alter."
            )
    if revision.downgrade == FAILED:
        console.print(f"      downgrade() raised {_t(revision.downgrade_error)}")
    for change in revision.changes:
        console.print(f"      - {change.change}: {_t(change.description)}")


def roundtrip_document(report: RoundtripReport) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "migdoctor_version": report.version,
        "project": {"config_file": report.config_file, "heads": list(report.heads)},
        "scratch": {"database": report.scratch, "dialect": report.dialect},
        "revisions": [
            {
                "revision": revision.revision,
                "message": revision.doc,
                "verdict": revision.verdict,
                "problem": revision.problem,
                "upgrade": revision.upgrade,
                "upgrade_error": revision.upgrade_error or None,
                "downgrade": revision.downgrade,
                "downgrade_error": revision.downgrade_error or None,
                "not_run_because": revision.not_run_because or None,
                "tables_never_created": list(revision.tables_never_created),
                "downgrade_differences": [
                    {
                        "change": change.change,
                        "kind": change.kind,
                        "table": change.table,
                        "name": change.name,
                        "description": change.description,
                    }
                    for change in revision.changes
                ],
            }
            for revision in report.revisions
        ],
        "upgrade_to_head_error": report.final_upgrade_error or None,
        "models": {
            "compared": not report.drift_not_compared,
            "not_compared_because": report.drift_not_compared or None,
            "differences": list(report.drift),
        },
        "summary": {
            "problems": report.problems,
            **({"hint": SQLITE_HINT} if report.failed_on_sqlite else {}),
        },
    }


def render_roundtrip_json(report: RoundtripReport) -> str:
    return json.dumps(redacted(roundtrip_document(report)), indent=2)
