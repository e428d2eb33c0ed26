"""The report as GitHub Actions workflow commands: one annotation per finding.

``::error file=PATH,line=N,title=TITLE::MESSAGE`` (``::warning``, ``::notice`` by severity),
placed on the file and line the finding is about (its first ``Finding.locations``), the path
relative to the folder migdoctor runs in (the repository's root in a workflow). Values are
escaped as GitHub's runner reads them: ``%``, carriage return and newline everywhere, and ``:``
and ``,`` in properties too. A run that could not check prints one ``::error::`` line.
"""

from __future__ import annotations

from pathlib import PurePath

from migdoctor.checks.report import Report
from migdoctor.findings import Finding, Severity
from migdoctor.redact import redact

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render_github(report: Report) -> str:
    lines = [_annotation(finding) for finding in report.findings]
    skipped = sum(1 for outcome in report.outcomes if outcome.status == "skipped")
    counts = (
        f"migdoctor: {report.count(Severity.ERROR)} error(s), "
        f"{report.count(Severity.WARNING)} warning(s), {report.count(Severity.INFO)} note(s)"
    )
    if skipped:
        counts += f"; {skipped} check(s) skipped"
        if report.facts.offline:
            counts += " (--offline)"
    lines.append(counts + ".")
    return "\n".join(lines)


def render_github_failure(message: str, hint: str | None = None) -> str:
    """The one annotation of a run that could not check (exit code 2)."""
    text = f"{message}\n{hint}" if hint else message
    return f"::error title={escape_property('migdoctor could not check')}::{escape_data(text)}"


def _annotation(finding: Finding) -> str:
    properties: list[tuple[str, str]] = []
    if finding.locations:
        place = finding.locations[0]
        properties.append(("file", PurePath(place.path).as_posix()))
        if place.line:
            properties.append(("line", str(place.line)))
    properties.append(("title", f"{finding.title} ({finding.check})"))
    text = finding.message
    fix = finding.recommended_fix
    if fix is not None:
        text += f"\nFix ({fix.risk.value}): {fix.command}"
    listed = ",".join(f"{name}={escape_property(value)}" for name, value in properties)
    return f"::{COMMANDS[finding.severity]} {listed}::{escape_data(text)}"


def escape_data(text: str) -> str:
    """A command's message, as ``escapeData`` of GitHub's toolkit (``@actions/core``)."""
    return redact(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A command's property value, as ``escapeProperty`` of GitHub's toolkit."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
