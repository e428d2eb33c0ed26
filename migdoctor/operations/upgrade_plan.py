"""``migdoctor plan``: per pending revision and operation, the lock it takes, what that blocks,
the table's size, its hazards, and whether migdoctor predicts it succeeds. Pure, from facts."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from migdoctor.facts.model import Facts
from migdoctor.facts.server_version import ServerVersion
from migdoctor.operations.hazard_model import Hazard
from migdoctor.operations.hazards import step_hazards
from migdoctor.operations.pending_steps import PendingStep, dialect_of, pending_steps, server_of

SUCCEEDS = "succeeds"
SUCCEEDS_WITH_WARNINGS = "succeeds, with warnings"
FAILS = "fails"


@dataclass(frozen=True)
class PlannedStep:
    step: PendingStep
    hazards: tuple[Hazard, ...]

    @property
    def prediction(self) -> str:
        if any(h.fails for h in self.hazards):
            return FAILS
        return SUCCEEDS_WITH_WARNINGS if self.hazards else SUCCEEDS


@dataclass(frozen=True)
class PlannedRevision:
    revision: str
    path: str | None
    steps: tuple[PlannedStep, ...]
    # how the operations were learned (recorded, static) and what is missing
    method: str
    note: str | None = None

    @property
    def prediction(self) -> str:
        predictions = {step.prediction for step in self.steps}
        for worst in (FAILS, SUCCEEDS_WITH_WARNINGS):
            if worst in predictions:
                return worst
        return SUCCEEDS


@dataclass(frozen=True)
class UpgradePlan:
    dialect: str | None
    offline: bool
    current: tuple[str, ...]
    target: str
    revisions: tuple[PlannedRevision, ...]
    # the server the locks and rewrites are predicted for (offline: the newest assumed)
    server: ServerVersion | None = None

    @property
    def prediction(self) -> str:
        return PlannedRevision(
            "", None, tuple(s for r in self.revisions for s in r.steps), ""
        ).prediction

    @property
    def exit_code(self) -> int:
        return 1 if self.prediction == FAILS else 0


def plan_upgrade(facts: Facts, target: str, planned: Collection[str] | None) -> UpgradePlan:
    """The plan of the pending revisions (only ``planned`` ones when given), in order."""
    dialect = dialect_of(facts)
    by_revision: dict[str, list[PlannedStep]] = {}
    for step in pending_steps(facts):
        if planned is not None and step.revision not in planned:
            continue
        hazards = tuple(step_hazards(step, dialect, facts))
        by_revision.setdefault(step.revision, []).append(PlannedStep(step, hazards))
    revisions = []
    order = [r for r in (facts.pending or facts.project.heads) if r in facts.operations]
    for revision in order:
        if planned is not None and revision not in planned:
            continue
        script = facts.project.graph.scripts.get(revision)
        recorded = facts.operations[revision]
        revisions.append(
            PlannedRevision(
                revision,
                facts.project.relative(script.path) if script is not None else None,
                tuple(by_revision.get(revision, ())),
                recorded.method,
                recorded.note,
            )
        )
    return UpgradePlan(
        dialect,
        facts.offline,
        facts.database.version_rows if facts.database is not None else (),
        target,
        tuple(revisions),
        server_of(facts),
    )
