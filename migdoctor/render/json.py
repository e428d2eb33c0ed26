"""The machine-readable report (schema_version 1, as DESIGN.md fixes it)."""

from __future__ import annotations

import json
from typing import Any

from migdoctor.checks.report import Report
from migdoctor.findings import Finding, Severity
from migdoctor.operations.schema_position import schema_position
from migdoctor.redact import redact

SCHEMA_VERSION = 1


def report_document(report: Report) -> dict[str, Any]:
    facts = report.facts
    project = facts.project
    database = facts.database
    config_file = project.config.config_file
    position = schema_position(facts)
    return {
        "schema_version": SCHEMA_VERSION,
        "migdoctor_version": report.version,
        "project": {
            "config_file": str(config_file) if config_file else None,
            "script_location": str(project.config.script_location),
            "heads": list(project.heads),
        },
        "database": None
        if database is None
        else {
            "url": database.url,
            "dialect": database.dialect,
            "server_version": str(database.server_version),
            "version_table": database.qualified_version_table,
            "current": list(database.version_rows),
            "schema": None if position is None else position.as_evidence(),
            # env.py migrated several schemas or databases in one run: the first is checked
            "where": database.where or None,
            "unchecked_runs": [
                {
                    "where": run.where,
                    "current": list(run.version_rows),
                    "version_table_exists": run.version_table_exists,
                }
                for run in database.unchecked_runs
            ],
        },
        "findings": [finding_document(finding) for finding in report.findings],
        "summary": {
            "errors": report.count(Severity.ERROR),
            "warnings": report.count(Severity.WARNING),
            "infos": report.count(Severity.INFO),
        },
    }


def finding_document(finding: Finding) -> dict[str, Any]:
    return {
        "check": finding.check,
        "code": finding.code,
        "severity": finding.severity.value,
        "title": finding.title,
        "message": finding.message,
        "evidence": dict(finding.evidence),
        "locations": [{"path": place.path, "line": place.line} for place in finding.locations],
        "fixes": [
            {
                "id": fix.id,
                "title": fix.title,
                "risk": fix.risk.value,
                "command": fix.command,
                # as the text report marks it: only a fix the check itself recommends
                "recommended": fix.recommended,
            }
            for fix in finding.fixes
        ],
    }


def render_json(report: Report) -> str:
    return json.dumps(redacted(report_document(report)), indent=2, default=str)


def redacted(value: Any) -> Any:
    """Every string masked before it is encoded: masking the encoded text could cut a JSON
    escape in two."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redacted(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redacted(item) for item in value]
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return redact(str(value))
