"""Findings: what a check reports, with the evidence that proves it and the ways to fix it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Risk(str, Enum):
    """How much a fix can hurt if the diagnosis is wrong (ruff's applicability, in spirit)."""

    SAFE = "safe"
    CAUTION = "caution"
    DANGEROUS = "dangerous"


RISK_ORDER = {Risk.SAFE: 0, Risk.CAUTION: 1, Risk.DANGEROUS: 2}
SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class Location:
    """A place in the project a finding is about: a file as the user would type it from where
    migdoctor runs (relative to the current folder when it is under it), and a line when one is
    known (the ``revision =`` statement of a revision file, the ``context.configure`` call of
    env.py)."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class FixOption:
    """One way to repair a finding: ``command`` is the exact command line that applies it."""

    id: str
    title: str
    risk: Risk
    command: str
    why: str = ""
    recommended: bool = False
    revision: str | None = None
    session: str | None = None


@dataclass(frozen=True)
class Finding:
    check: str
    code: str
    severity: Severity
    title: str
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    fixes: tuple[FixOption, ...] = ()
    # the files (and lines) the finding is about, the main one first: where SARIF results and
    # GitHub annotations are placed
    locations: tuple[Location, ...] = ()

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.fixes, key=lambda fix: RISK_ORDER[fix.risk]))
        object.__setattr__(self, "fixes", ordered)

    @property
    def recommended_fix(self) -> FixOption | None:
        for fix in self.fixes:
            if fix.recommended:
                return fix
        return self.fixes[0] if self.fixes else None
