"""``migdoctor plan``'s report: per pending revision and operation, the lock, what it blocks,
the table's size, the hazards and the prediction; for people (rich) and as JSON, same data."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from migdoctor import __version__
from migdoctor.operations.upgrade_plan import FAILS, SUCCEEDS, PlannedStep, UpgradePlan
from migdoctor.redact import redact
from migdoctor.render.json import redacted

if TYPE_CHECKING:
    from rich.console import Console

SCHEMA_VERSION = 1
_MARKS = {FAILS: "[bold red]✗[/]", SUCCEEDS: "[green]✓[/]"}


def _t(text: str) -> str:
    return escape(redact(text))


def _size(total_bytes: int | None) -> str:
    if total_bytes is None:
        return ""
    size = float(total_bytes)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return ""


def render_plan_text(plan: UpgradePlan, console: Console) -> None:
    where = (
        "offline: the head revisions, read from their files"
        if plan.offline
        else (f"from {', '.join(plan.current) or 'an empty version table'} to {plan.target}")
    )
    console.print(f"[bold]migdoctor {__version__}[/] upgrade plan ({_t(where)})")
    if plan.server is not None:
        console.print(f"  locks and rewrites as {_t(plan.server.verdict_for)} runs them")
    if not plan.revisions:
        console.print("  nothing to upgrade: no pending revision")
        return
    for revision in plan.revisions:
        console.print()
        mark = _MARKS.get(revision.prediction, "[yellow]![/]")
        console.print(
            f"{mark} [bold]{revision.revision}[/] {_t(revision.path or '')}: {revision.prediction}"
        )
        if revision.note:
            console.print(f"    [dim]{_t(revision.note)}[/]")
        for planned in revision.steps:
            _step(planned, console)
    console.print()
    verdict = {
        FAILS: "[bold red]The upgrade will fail[/] (see the ✗ above).",
        SUCCEEDS: "[green]migdoctor predicts the upgrade succeeds.[/]",
    }.get(plan.prediction, "[yellow]migdoctor predicts the upgrade succeeds, with warnings.[/]")
    console.print(verdict)


def _step(planned: PlannedStep, console: Console) -> None:
    step = planned.step
    operation = step.operation
    line = f" [dim](line {operation.line})[/]" if operation.line else ""
    mark = _MARKS.get(planned.prediction, "[yellow]![/]")
    console.print(f"  {mark} {_t(operation.describe())}{line}")
    details = []
    if step.lock is not None:
        details.append(f"lock {step.lock.lock}, blocks {step.lock.blocks}")
    elif operation.table and not step.existing:
        details.append("new table: no lock on existing rows")
    if step.size is not None:
        details.append(
            " ".join(p for p in (step.size.rows_in_words(), _size(step.size.total_bytes)) if p)
        )
    if step.size is not None and step.size.note:
        details.append(step.size.note)
    if details:
        console.print(f"      {_t('; '.join(details))}")
    for hazard in planned.hazards:
        colour = "red" if hazard.fails else "yellow"
        console.print(f"      [{colour}]{hazard.code} {hazard.slug}[/]: {_t(hazard.sentence)}")


def plan_document(plan: UpgradePlan) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "migdoctor_version": __version__,
        "dialect": plan.dialect,
        "offline": plan.offline,
        "server_version": plan.server.verdict_for if plan.server is not None else None,
        "current": list(plan.current),
        "target": plan.target,
        "prediction": plan.prediction,
        "revisions": [
            {
                "revision": revision.revision,
                "path": revision.path,
                "method": revision.method,
                "note": revision.note,
                "prediction": revision.prediction,
                "operations": [_step_document(planned) for planned in revision.steps],
            }
            for revision in plan.revisions
        ],
    }


def _step_document(planned: PlannedStep) -> dict[str, Any]:
    step = planned.step
    operation = step.operation
    size = step.size
    return {
        "operation": operation.describe(),
        "kind": operation.kind,
        "table": operation.qualified_table,
        "line": operation.line,
        "existing_table": step.existing,
        "lock": step.lock.lock if step.lock else None,
        "blocks": step.lock.blocks if step.lock else None,
        "lock_source": step.lock.source if step.lock else None,
        "rows": size.rows if size else None,
        "rows_counted": size.counted if size else None,
        "total_bytes": size.total_bytes if size else None,
        "size_note": size.note if size else None,
        "prediction": planned.prediction,
        "hazards": [
            {
                "code": hazard.code,
                "check": hazard.slug,
                "severity": hazard.severity.value,
                "fails": hazard.fails,
                "message": hazard.sentence,
                "recipe": hazard.recipe,
                "evidence": dict(hazard.evidence),
            }
            for hazard in planned.hazards
        ],
    }


def render_plan_json(plan: UpgradePlan) -> str:
    return json.dumps(redacted(plan_document(plan)), indent=2)
