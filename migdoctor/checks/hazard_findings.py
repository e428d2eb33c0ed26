"""The findings of the blast-radius checks (MD401-MD408, MD410, MD411), built the same way for each
from the hazards of ``operations/hazards.py``: the revision, the operation as written and where,
the table, its size, the lock and what it blocks, and the safer recipe."""

from __future__ import annotations

from migdoctor.checks import require_known_current, require_no_run_in_progress
from migdoctor.facts.model import Facts
from migdoctor.findings import Finding, Location
from migdoctor.operations.hazard_model import Hazard
from migdoctor.operations.hazards import hazards
from migdoctor.operations.pending_steps import server_of


def hazard_findings(facts: Facts, code: str) -> list[Finding]:
    require_known_current(facts)
    require_no_run_in_progress(facts)
    return [hazard_finding(facts, hazard) for hazard in hazards(facts, code)]


def hazard_finding(facts: Facts, hazard: Hazard) -> Finding:
    """The finding that shows one hazard (a pending step's, or a downgrade's)."""
    step = hazard.step
    operation = step.operation
    script = facts.project.graph.scripts.get(step.revision)
    locations: tuple[Location, ...] = ()
    if script is not None:
        where = facts.project.revision_location(script)
        locations = (Location(where.path, operation.line or where.line),)
    size = step.size
    server = server_of(facts)
    evidence = {
        "revision": step.revision,
        "operation": operation.describe(),
        "table": operation.qualified_table,
        "lock": step.lock.lock if step.lock else None,
        "blocks": step.lock.blocks if step.lock else None,
        "rows": size.rows if size is not None else None,
        "rows_counted": size.counted if size is not None else None,
        "total_bytes": size.total_bytes if size is not None else None,
        "size_note": size.note if size is not None else None,
        "fails": hazard.fails,
        # the server the lock and rewrite verdicts are for (offline: the newest assumed)
        "server_version": server.verdict_for if server is not None else None,
        **hazard.evidence,
    }
    if locations:
        evidence["at"] = str(locations[0])
    return Finding(
        check=hazard.slug,
        code=hazard.code,
        severity=hazard.severity,
        title=hazard.title,
        message=f"{hazard.sentence} Safer:\n{hazard.recipe}",
        evidence=evidence,
        locations=locations,
    )
