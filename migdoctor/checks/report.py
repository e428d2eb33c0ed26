"""The report: the outcome of every check and the findings, as data for the renderers."""

from __future__ import annotations

from dataclasses import dataclass

from migdoctor import __version__
from migdoctor.checks import CheckOutcome
from migdoctor.errors import EXIT_FAILED, EXIT_OK
from migdoctor.facts.model import Facts
from migdoctor.findings import SEVERITY_ORDER, Finding, Severity


@dataclass(frozen=True)
class Report:
    facts: Facts
    outcomes: tuple[CheckOutcome, ...]
    version: str = __version__

    @property
    def findings(self) -> tuple[Finding, ...]:
        found = [finding for outcome in self.outcomes for finding in outcome.findings]
        return tuple(sorted(found, key=lambda f: SEVERITY_ORDER[f.severity]))

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.findings if finding.severity == severity)

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.count(Severity.ERROR) else EXIT_OK
