"""``migdoctor check``: gather the facts once, run every check over them, report."""

from __future__ import annotations

from collections.abc import Sequence

from migdoctor.checks import run_checks, tables_to_read
from migdoctor.checks.report import Report
from migdoctor.gathering.gather import gather_facts
from migdoctor.project.config import ConfigOptions


def diagnose(
    options: ConfigOptions,
    offline: bool = False,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    invocation: tuple[str, ...] = ("migdoctor",),
) -> Report:
    facts = gather_facts(
        options, offline=offline, invocation=invocation, tables=tables_to_read(select, ignore)
    )
    return Report(facts=facts, outcomes=tuple(run_checks(facts, select, ignore)))
