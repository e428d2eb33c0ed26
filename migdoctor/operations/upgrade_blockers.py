"""Would ``alembic upgrade`` (or ``downgrade``) fail on this database? Answered once, here, for
the ``stale-current`` check, the ``upgrade`` fix and the preflight of ``migdoctor upgrade``.

Each blocker names the check that diagnoses it (its finding carries the evidence and the
repairs) and says why, in one sentence. They come in the order alembic would meet them: the
version table names a revision no script defines, the history does not load, the version table
holds a revision together with its ancestor, the next revision was applied half way or is partly
there already, a pending revision creates a table that already exists or adds a column a live
table already has, a pending operation the
database will refuse on this data (``operations/hazards.py``: a concurrent index build inside a
transaction, a NOT NULL column added to or set on rows that hold no value, a unique index over
duplicates).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from migdoctor.facts.model import Facts
from migdoctor.facts.operations import RECORDED
from migdoctor.operations.effects import column_conflicts, creation_conflicts
from migdoctor.operations.hazards import hazards
from migdoctor.operations.partial_application import next_revision_partly_applied


@dataclass(frozen=True)
class UpgradeBlocker:
    checks: tuple[str, ...]  # the slugs of the checks whose findings prove it and offer repairs
    sentence: str  # why the run would fail, as the user reads it
    revision: str | None = None  # the revision it concerns, when one does


def downgrade_blockers(facts: Facts) -> list[UpgradeBlocker]:
    """Why alembic would refuse to move this database at all: an unknown revision in the
    version table, a history that does not load, a revision next to its ancestor there."""
    blockers = []
    if facts.unknown_current:
        blockers.append(
            UpgradeBlocker(
                ("unknown-revision",),
                f"The version table names {', '.join(facts.unknown_current)}, which no script "
                "defines: alembic cannot upgrade from there (see unknown-revision).",
            )
        )
    problems = facts.project.history_problems()
    if problems:
        blockers.append(
            UpgradeBlocker(
                tuple(dict.fromkeys(slug for slug, _ in problems)),
                "alembic cannot upgrade until the history loads: "
                + "; ".join(words for _, words in problems)
                + ".",
            )
        )
    if facts.version_overlaps:
        ancestor, descendant = facts.version_overlaps[0]
        blockers.append(
            UpgradeBlocker(
                ("version-table-overlap",),
                f"alembic refuses to upgrade while the version table holds {descendant} "
                f"together with its ancestor {ancestor} (see version-table-overlap).",
            )
        )
    return blockers


def upgrade_blockers(facts: Facts, planned: Collection[str] | None = None) -> list[UpgradeBlocker]:
    """Why upgrading this database would fail, empty when nothing migdoctor can see stops it.

    ``planned``: the revisions this upgrade runs, when it does not go to the heads."""
    blockers = downgrade_blockers(facts)
    database = facts.database
    pending = tuple(facts.pending or ())
    if database is None or not pending or facts.unknown_current:
        return blockers
    if planned is not None:
        pending = tuple(revision for revision in pending if revision in planned)
    partial = next_revision_partly_applied(facts)
    if partial is not None and partial.revision in pending:
        blockers.append(
            UpgradeBlocker(
                ("partial-migration",),
                f"The upgrade would fail: revision {partial.revision} was applied half way "
                "(see partial-migration).",
                partial.revision,
            )
            if partial.half_applied_possible
            else UpgradeBlocker(
                ("table-exists",),
                f"The upgrade would fail: part of revision {partial.revision} already exists "
                "(see table-exists).",
                partial.revision,
            )
        )
    conflicts = creation_conflicts(facts.recorded(pending), database)
    if conflicts:
        conflict = conflicts[0]
        if conflict.created_by is None:
            blockers.append(
                UpgradeBlocker(
                    ("table-exists",),
                    f"The upgrade would fail: revision {conflict.revision} creates table "
                    f"{conflict.table}, which already exists (see table-exists).",
                    conflict.revision,
                )
            )
        else:
            blockers.append(
                _created_twice(facts, conflict.revision, conflict.created_by, conflict.table)
            )
    # from revisions that ran against the recorder only: one read from its source may guard
    # its add_column with a question to the database
    recorded = [r for r in facts.recorded(pending) if r.method == RECORDED]
    added_again = column_conflicts(recorded, database)
    if added_again and not blockers:
        # mealie (github.com/mealie-recipes/mealie) after a stamp one revision short: the
        # upgrade was offered as safe and failed with "duplicate column name"
        again = added_again[0]
        blockers.append(
            UpgradeBlocker(
                ("stale-current",),
                f"The upgrade would fail: revision {again.revision} adds column "
                f"{again.table}.{again.column}, which already exists.",
                again.revision,
            )
        )
    for hazard in hazards(facts):
        if hazard.fails and hazard.step.revision in pending:
            blockers.append(
                UpgradeBlocker(
                    (hazard.slug,),
                    f"The upgrade would fail at revision {hazard.step.revision}: "
                    f"{hazard.title} (see {hazard.slug}).",
                    hazard.step.revision,
                )
            )
    return blockers


def _created_twice(facts: Facts, revision: str, first: str, table: str) -> UpgradeBlocker:
    """Two pending revisions create the same table: the second fails, whatever the database."""
    graph = facts.project.graph
    related = first in graph.ancestors([revision]) or revision in graph.ancestors([first])
    why = (
        "the history creates it twice"
        if related
        else "the two are on separate branches that both create it, and one of them must not "
        "before the histories are merged (see multiple-heads)"
    )
    return UpgradeBlocker(
        ("stale-current",),
        f"The upgrade would fail: revision {revision} creates table {table}, which revision "
        f"{first}, also pending, creates before it in the same upgrade: {why}.",
        revision,
    )
