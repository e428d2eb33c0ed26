"""merge-heads: create a merge revision over the current heads with alembic's own ``merge``."""

from __future__ import annotations

import uuid

from migdoctor.facts.model import Facts
from migdoctor.findings import Risk
from migdoctor.repair.plan import FixRequest, MergeRevision, Plan, refused

FIX_ID = "merge-heads"
NEEDS_DATABASE = False
RISK = Risk.SAFE
MESSAGE = "merge heads"


def plan(facts: Facts, request: FixRequest) -> Plan:
    heads = facts.project.graph.heads
    title = "Create a merge revision over the heads"
    if len(heads) < 2:
        return refused(FIX_ID, title, RISK, "There is only one head: nothing to merge.")
    revision_id = uuid.uuid4().hex[-12:]
    return Plan(
        fix=FIX_ID,
        title=f"Create merge revision {revision_id} over {', '.join(heads)}",
        risk=RISK,
        merge=MergeRevision(heads=heads, revision_id=revision_id, message=MESSAGE),
        warnings=(
            "The merge revision runs nothing; it joins the branches so that `upgrade head` "
            "works again. Commit the new file.",
        ),
    )
