"""The machine-readable report (schema_version 1, as DESIGN.md fixes it)."""

from __future__ import annotations

import json
from typing import Any

from migdoctor.findings import Finding, Severity
from migdoctor.redact import redact
from migdoctor.report import Report

SCHEMA_VERSION = 1


def report_document(report: Report) -> dict[str, Any]:
    facts = report.facts
    project = facts.project
    database = facts.database
    config_file = project.config.config_file
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
            "version_table": database.qualified_version_table,
            "current": list(database.version_rows),
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
        "fixes": [
            {
                "id": fix.id,
                "title": fix.title,
                "risk": fix.risk.value,
                "command": fix.command,
                "recommended": fix is finding.recommended_fix,
            }
            for fix in finding.fixes
        ],
    }


def render_json(report: Report) -> str:
    return redact(json.dumps(report_document(report), indent=2, default=str))
