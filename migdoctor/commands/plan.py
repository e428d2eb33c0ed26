"""``migdoctor plan``: what each pending operation will lock, scan, rewrite or break."""

from __future__ import annotations

from migdoctor.errors import MigdoctorError
from migdoctor.facts.model import OPERATION_TABLES
from migdoctor.gathering.gather import gather_facts
from migdoctor.operations.upgrade_plan import UpgradePlan, plan_upgrade
from migdoctor.project.config import ConfigOptions


def plan(
    options: ConfigOptions,
    target: str = "heads",
    offline: bool = False,
    invocation: tuple[str, ...] = ("migdoctor",),
) -> UpgradePlan:
    """The plan of ``upgrade TARGET`` on the configured database (offline: of the head
    revisions, read from their files)."""
    from migdoctor.database.capture import RECORD_PENDING

    facts = gather_facts(
        options,
        offline=offline,
        invocation=invocation,
        record=RECORD_PENDING,
        tables=OPERATION_TABLES,
    )
    planned = None
    if facts.database is not None and target not in ("heads", "head"):
        graph = facts.project.graph
        try:
            targets = graph.resolve(target)
        except LookupError as error:
            raise MigdoctorError(f"Cannot plan an upgrade to '{target}': {error}.") from None
        planned = set(graph.pending(facts.database.version_rows, targets))
    return plan_upgrade(facts, target, planned)
