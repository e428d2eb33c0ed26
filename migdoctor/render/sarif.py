"""The report as SARIF 2.1.0, for GitHub code scanning and other static-analysis viewers.

One rule per check (``id`` its code, ``name`` its slug, the descriptions and help from its
``explain`` text, the default level from its severity), one result per finding, placed on the
file and line the finding is about (``Finding.locations``: the first is the result's location,
the others related ones). Paths are relative to ``%SRCROOT%``, the folder migdoctor runs in
(the repository's root in CI), so that code scanning finds the files; a file outside it is named
by its absolute ``file:`` URI. A run that could not check is still a valid document: one
invocation with ``executionSuccessful: false`` and the reason as a notification.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from migdoctor import __version__
from migdoctor.checks import CRASHED_CODE, CRASHED_SLUG, DOC_SECTIONS, Check, all_checks
from migdoctor.checks.report import Report
from migdoctor.errors import EXIT_CANNOT
from migdoctor.findings import Finding, Location, Severity
from migdoctor.render.json import redacted

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SOURCE_ROOT = "%SRCROOT%"
INFORMATION_URI = "https://pypi.org/project/migdoctor/"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render_sarif(report: Report) -> str:
    results = [_result(finding) for finding in report.findings]
    notifications = [
        {
            "level": "note",
            "message": {"text": f"{outcome.check.slug} skipped: {outcome.reason}"},
            "associatedRule": {"id": outcome.check.code},
        }
        for outcome in report.outcomes
        if outcome.status == "skipped"
    ]
    invocation = {
        "executionSuccessful": True,
        "exitCode": report.exit_code,
        "toolExecutionNotifications": notifications,
    }
    return _document(invocation, results)


def render_sarif_failure(message: str, hint: str | None = None) -> str:
    """The document of a run that could not check (exit code 2): no result, and why."""
    text = f"{message}\n{hint}" if hint else message
    invocation = {
        "executionSuccessful": False,
        "exitCode": EXIT_CANNOT,
        "toolExecutionNotifications": [{"level": "error", "message": {"text": text}}],
    }
    return _document(invocation, [])


def _document(invocation: dict[str, Any], results: list[dict[str, Any]]) -> str:
    run = {
        "tool": {
            "driver": {
                "name": "migdoctor",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_rule(check) for check in all_checks()] + [_crashed_rule()],
            }
        },
        "invocations": [invocation],
        "originalUriBaseIds": {SOURCE_ROOT: {"uri": Path.cwd().absolute().as_uri() + "/"}},
        "results": results,
    }
    document = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
    return json.dumps(redacted(document), indent=2)


def _rule(check: Check) -> dict[str, Any]:
    help_text = "\n\n".join(f"{name}\n{check.section(name)}" for name in DOC_SECTIONS)
    help_markdown = "\n\n".join(f"## {name}\n\n{check.section(name)}" for name in DOC_SECTIONS)
    return {
        "id": check.code,
        "name": check.slug,
        "shortDescription": {"text": check.summary},
        "fullDescription": {"text": check.section("What it detects") or check.summary},
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {"level": LEVELS[check.severity]},
        "properties": {
            "tags": ["alembic", "migrations", "database" if check.needs_database else "scripts"]
        },
    }


def _crashed_rule() -> dict[str, Any]:
    summary = "a migdoctor check raised an error (a bug in migdoctor); the other checks ran"
    return {
        "id": CRASHED_CODE,
        "name": CRASHED_SLUG,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": summary},
        "help": {"text": "Run migdoctor check --debug and report the traceback."},
        "defaultConfiguration": {"level": LEVELS[Severity.WARNING]},
    }


def _result(finding: Finding) -> dict[str, Any]:
    text = finding.message
    fix = finding.recommended_fix
    if fix is not None:
        text += f"\nFix ({fix.risk.value}): {fix.command}"
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": LEVELS[finding.severity],
        "message": {"text": text},
        "properties": {
            "check": finding.check,
            "evidence": dict(finding.evidence),
            "fixes": [
                {"id": f.id, "title": f.title, "risk": f.risk.value, "command": f.command}
                for f in finding.fixes
            ],
        },
    }
    if finding.locations:
        first, *others = finding.locations
        result["locations"] = [_location(first)]
        if others:
            result["relatedLocations"] = [
                {**_location(place), "id": index, "message": {"text": str(place)}}
                for index, place in enumerate(others, start=1)
            ]
    return result


def _location(place: Location) -> dict[str, Any]:
    path = PurePath(place.path)
    artifact: dict[str, Any] = (
        {"uri": Path(path).as_uri()}
        if path.is_absolute()
        else {"uri": quote(path.as_posix()), "uriBaseId": SOURCE_ROOT}
    )
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if place.line:
        physical["region"] = {"startLine": place.line}
    return {"physicalLocation": physical}
