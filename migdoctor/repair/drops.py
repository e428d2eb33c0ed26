"""What a downgrade or an undo would drop: the tables and columns the ``downgrade()`` of some
revisions (or the inverse of a completed revision) removes, and whether the journaled run created
them. Nothing that existed before the run is ever dropped; every drop is shown with its row count
before consent."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from migdoctor.facts.ledger import DOWNGRADE, STAMP, UPGRADE, LedgerEntry, LedgerFacts
from migdoctor.facts.model import Facts
from migdoctor.facts.operations import Operation
from migdoctor.repair.plan import Drop, MigrationRun, RevisionCompletion

if TYPE_CHECKING:
    from migdoctor.repair.journal import JournalEntry


def downgrade_drops(
    facts: Facts, run: MigrationRun, created: dict[str, Any] | None
) -> tuple[tuple[Drop, ...], tuple[str, ...]] | str:
    """The tables and columns the ``downgrade()`` of each step drops (recorded, nothing runs),
    each marked created (or not) by the journaled run (``created``: revision -> what it created;
    None when the journal does not say), and notes; a refusal when a ``downgrade()`` cannot be
    read (what it would drop could not be told)."""
    from migdoctor.operations.recorder import CannotRecord, record_downgrade

    database = facts.database
    assert database is not None
    dialect = dialect_named(database.dialect)
    made_tables = {
        name.lower()
        for made in (created or {}).values()
        if isinstance(made, dict)
        for name in made.get("tables", ())
    }
    made_columns = {
        name.lower()
        for made in (created or {}).values()
        if isinstance(made, dict)
        for name in made.get("columns", ())
    }
    known = created is not None and all(
        isinstance((created or {}).get(revision), dict) for revision, _ in run.steps
    )
    drops: list[Drop] = []
    notes: list[str] = []
    graph = facts.project.graph
    for revision, _ in run.steps:
        script = graph.scripts.get(revision)
        if script is None:
            return (
                f"No file defines {revision} any more: what its downgrade() drops cannot be "
                "told. Nothing restored."
            )
        try:
            operations = record_downgrade(script.path, dialect)
        except CannotRecord as error:
            return (
                f"What {revision}'s downgrade() would drop cannot be told ({error}); undo never "
                "runs a downgrade it cannot read. Nothing restored."
            )
        for operation in operations:
            dropped = dropped_by(operation)
            if operation.kind == "execute" and dropped is None:
                notes.append(
                    f"{revision}'s downgrade() runs SQL migdoctor cannot read: "
                    f"{operation.describe()}."
                )
            if dropped is None:
                continue
            table, column = dropped
            if not known:
                by_run = None
            elif column is None:
                by_run = table.lower() in made_tables
            else:
                by_run = table.lower() in made_tables or f"{table}.{column}".lower() in made_columns
            drops.append(Drop(revision, table, column, operation.schema, by_run))
    if created is not None and not known and drops:
        notes.append(
            "The journal does not say what the upgrade created (an older migdoctor, or the "
            "schema could not be read): check that it created what the downgrade drops."
        )
    return tuple(drops), tuple(notes)


def stamped_revisions(
    facts: Facts, journal_entries: Callable[[], Sequence[JournalEntry]]
) -> dict[str, str]:
    """The revisions of this database whose tables no migration created, as migdoctor knows
    it: recorded as applied by a stamp while nothing of them was there from a run before, and
    neither run nor downgraded since: revision -> how it was recorded, in words.

    The ledger tells it where the database has one: each revision's entries, oldest first (a
    stamp over a revision a migration had run, taken back by a stamp down and stamped again,
    still has that migration's tables). Without a ledger, the journal's fixes that moved the
    version table and ran nothing: every revision between the rows before and after
    (``journal_entries`` is read only then). A run of alembic itself, outside migdoctor, leaves
    no trace in either."""
    database = facts.database
    if database is None:
        return {}
    ledger = database.ledger
    if ledger is not None and ledger.exists and ledger.unreadable is None:
        return _stamped_by_ledger(ledger)
    return _stamped_by_journal(facts, journal_entries())


def _stamped_by_ledger(ledger: LedgerFacts) -> dict[str, str]:
    history: dict[str, list[LedgerEntry]] = {}
    for entry in reversed(ledger.entries):  # oldest first
        history.setdefault(entry.revision, []).append(entry)
    stamped: dict[str, str] = {}
    for revision, revision_entries in history.items():
        origin: str | None = None
        how = ""
        first = revision_entries[0].direction
        if ledger.truncated and first not in (UPGRADE, DOWNGRADE):
            continue  # what came before the oldest entry kept is not known
        for entry in revision_entries:
            if entry.direction == UPGRADE:
                origin = UPGRADE
            elif entry.direction == DOWNGRADE:
                origin = None
            elif entry.direction == STAMP and origin is None:
                origin = STAMP
                when = _moment(entry.applied_at)
                how = (
                    f"recorded as applied by {entry.command} on {when:%Y-%m-%d %H:%M} UTC "
                    "(migdoctor's ledger), not created by a migration"
                )
            # an unstamp takes the row back, not the tables: their origin stays
        if origin == STAMP:
            stamped[revision] = how
    return stamped


def _stamped_by_journal(facts: Facts, entries: Sequence[JournalEntry]) -> dict[str, str]:
    database = facts.database
    assert database is not None
    graph = facts.project.graph
    stamped: dict[str, str] = {}
    for entry in entries:
        where = entry.record.get("database") or {}
        plan = entry.record.get("plan") or {}
        change = plan.get("version_table")
        if (
            entry.is_undo
            or entry.status != "applied"
            or where.get("url") != database.url
            or where.get("version_table") != database.qualified_version_table
            or not change
            or plan.get("migration")
            or plan.get("completion")
        ):
            continue
        before = graph.ancestors([r for r in change["rows_before"] if r in graph])
        after = graph.ancestors([r for r in change["rows_after"] if r in graph])
        when = _moment(str(entry.record.get("time", "")))
        for revision in after - before:
            stamped.setdefault(
                revision,
                f"recorded as applied by fix {entry.fix} on {when:%Y-%m-%d %H:%M} UTC "
                f"(journal {entry.id}), not created by a migration",
            )
    return stamped


def _moment(text: str) -> datetime:
    """A journal's or ledger's ISO 8601 time, as an aware datetime (the oldest when unreadable)."""
    from datetime import timezone

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


_DROP_TABLE_SQL = re.compile(r"^\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?([\w\"`]+)\s*;?\s*$", re.I)
_DROP_COLUMN_SQL = re.compile(
    r"^\s*ALTER\s+TABLE\s+([\w\"`]+)\s+DROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?([\w\"`]+)\s*;?\s*$",
    re.I,
)


def dropped_by(operation: Operation) -> tuple[str, str | None] | None:
    """(table, column or None) a drop operation removes: ``op.drop_table``/``op.drop_column``,
    or raw SQL of the plain forms ``DROP TABLE t`` / ``ALTER TABLE t DROP COLUMN c``."""
    if operation.kind == "drop_table" and operation.table:
        return operation.table, None
    if operation.kind == "drop_column" and operation.table and operation.columns:
        return operation.table, operation.columns[0]
    if operation.kind == "execute":
        found = _DROP_TABLE_SQL.match(operation.detail)
        if found:
            return found.group(1).strip('"`'), None
        found = _DROP_COLUMN_SQL.match(operation.detail)
        if found:
            return found.group(1).strip('"`'), found.group(2).strip('"`')
    return None


def existed_refusal(existed: list[Drop]) -> str:
    named = "; ".join(f"{drop.revision}'s downgrade() drops {drop.words}" for drop in existed)
    return (
        f"{named}, which existed before the upgrade (the upgrade did not create it). Undo never "
        "drops what the fix it undoes did not create: nothing restored. To go back anyway, "
        "empty that downgrade() (as neuter-upgrade does) or move the version table with "
        "migdoctor stamp."
    )


def completion_drops(completion: RevisionCompletion) -> tuple[Drop, ...]:
    """The tables and columns the inverse of a complete-revision drops: it created them."""
    drops = []
    for _, words in completion.run:
        if words.startswith("create table "):
            table = words.removeprefix("create table ").split(" (", 1)[0]
            drops.append(Drop(completion.revision, table, created_by_run=True))
        elif words.startswith("add column "):
            table, _, column = words.removeprefix("add column ").rpartition(".")
            drops.append(Drop(completion.revision, table, column, created_by_run=True))
    return tuple(drops)


def dialect_named(name: str) -> Any:
    """SQLAlchemy's dialect of that name, to record operations for (nothing connects)."""
    from sqlalchemy.engine import make_url

    return make_url(f"{name}://").get_dialect()()
