"""upgrade: apply the pending revisions, exactly as ``alembic upgrade heads`` would.

What it does
------------
Runs alembic's own upgrade of every pending revision, under the migration lock and with the
preflight of ``migdoctor upgrade``. It refuses when the checks predict the upgrade will fail: an
unknown revision in the version table, a revision next to its ancestor there, a pending revision
applied half way, or one that creates a table that already exists. The journal keeps which
tables and columns each revision really created (the schema read before and after it).

Risk
----
safe: it does what alembic itself would do, nothing more.

Undo
----
``migdoctor undo`` runs the ``downgrade()`` of each revision the upgrade applied, newest first,
back to the revision it started from. It does so only while the version table is what the
upgrade left and only when every table and column those downgrades drop was created by that
run; otherwise it refuses and names what existed before. What it would drop is shown with its
row count before consent. An upgrade that started from several heads is not undone (move back by
hand with ``migdoctor downgrade``).
"""

from __future__ import annotations

from migdoctor.facts.model import Facts
from migdoctor.findings import Risk
from migdoctor.operations.upgrade_blockers import upgrade_blockers
from migdoctor.repair.plan import (
    Drop,
    FixRequest,
    MigrationRun,
    Plan,
    nothing_to_do,
    refused,
)

FIX_ID = "upgrade"
NEEDS_DATABASE = True
RISK = Risk.SAFE


def plan(facts: Facts, request: FixRequest) -> Plan:
    database = facts.database
    title = "Apply the pending revisions"
    if database is None:
        return refused(FIX_ID, title, RISK, "upgrade needs the database.")
    blockers = upgrade_blockers(facts)
    if blockers:
        return refused(FIX_ID, title, RISK, blockers[0].sentence)
    pending = facts.pending or ()
    if not pending:
        return nothing_to_do(
            FIX_ID, title, RISK, "Nothing to upgrade: the database is at the head."
        )
    graph = facts.project.graph
    steps = tuple(
        (revision, _what_it_does(facts, revision) or graph.scripts[revision].doc)
        for revision in pending
    )
    return Plan(
        fix=FIX_ID,
        title=f"Apply {len(pending)} pending revision{'s' if len(pending) != 1 else ''}",
        risk=RISK,
        migration=MigrationRun(
            direction="upgrade",
            destination="heads",
            steps=steps,
            rows_before=database.version_rows,
        ),
        warnings=_warnings(facts, pending),
        drops=upgrade_drops(facts, pending),
    )


def upgrade_drops(facts: Facts, revisions: tuple[str, ...] | list[str]) -> tuple[Drop, ...]:
    """The tables and columns the ``upgrade()`` of ``revisions`` drops (rows counted later)."""
    drops = []
    for revision in revisions:
        recorded = facts.operations.get(revision)
        for operation in recorded.operations if recorded else ():
            if operation.table is None:
                continue
            if operation.kind == "drop_table":
                drops.append(Drop(revision, operation.table, schema=operation.schema))
            elif operation.kind == "drop_column" and operation.columns:
                drops.append(
                    Drop(revision, operation.table, operation.columns[0], operation.schema)
                )
    return tuple(drops)


def _what_it_does(facts: Facts, revision: str) -> str:
    recorded = facts.operations.get(revision)
    message = facts.project.graph.scripts[revision].doc
    if recorded is None or not recorded.operations:
        return message
    operations = "; ".join(op.describe() for op in recorded.operations[:4])
    more = " …" if len(recorded.operations) > 4 else ""
    return f"{message}: {operations}{more}" if message else operations + more


def _warnings(facts: Facts, pending: tuple[str, ...]) -> tuple[str, ...]:
    if facts.database is not None and facts.database.dialect in ("mysql", "mariadb"):
        return (
            "MySQL cannot roll back DDL: a revision that fails half way leaves its first "
            "statements applied (migdoctor check then reports what is missing).",
        )
    return ()
