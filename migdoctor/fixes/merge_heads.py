"""merge-heads: create a merge revision over the current heads with alembic's own ``merge``.

What it does
------------
Writes one new revision file, with ``alembic merge``, whose ``down_revision`` names every head
and whose ``upgrade()`` and ``downgrade()`` do nothing: it joins the branches so that
``upgrade head`` works again. No database is touched. Commit the new file.

Risk
----
safe: it does what alembic itself would do; no table and no existing file is changed.

Undo
----
``migdoctor undo`` deletes the merge file, only while it is exactly what the fix wrote. When the
database can be read and is at the merge revision or past it, undo refuses (alembic could no
longer read the version table): downgrade below it first.
"""

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
