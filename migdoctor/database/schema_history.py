"""Which revision is the live schema really at? The schema at every revision, measured.

Called inside the capture while env.py's connection is live. Every revision's recorded
operations are replayed (``operations.replay``) in history order, and each revision's schema is
measured against the live one: tables, columns, column types (by the dialect's own type
comparison, alembic's ``impl.compare_type``), nullability and named indexes. That distance only
ranks the revisions: for the few that matter (the current one, the closest ones, the heads, any
a fix asks about) alembic's autogenerate comparison itself is run against the replayed schema,
with env.py's ``include_*`` and ``compare_*`` settings, and its differences, in words, are the
evidence; at the head with nothing to decide, the measure alone says the schema is the head's.
Both measures are :mod:`migdoctor.database.schema_measure`'s. Nothing of SQLAlchemy's schema
objects leaves these two modules.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from migdoctor import __version__
from migdoctor.database.bounds import gave_up_waiting
from migdoctor.database.schema_measure import Measure, Measured, TableKey
from migdoctor.errors import describe_exception
from migdoctor.facts.model import (
    CASE_INSENSITIVE_TABLE_NAMES,
    RevisionSchemaComparison,
    SchemaHistoryFacts,
    TableFact,
)
from migdoctor.facts.operations import RevisionOperations
from migdoctor.operations.replay import ReplayedSchema
from migdoctor.project.graph import RevisionGraph

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.engine import Inspector

    from migdoctor.database.drift_cache import ComparisonCache

# how many revisions get alembic's full comparison besides the current one and those asked for
CLOSEST_COMPARED = 3
# bump when what the inference finds, or how (the replay too), changes: its kept outcomes and
# comparisons are then not reused
OUTCOME_SCHEMA = 5
STRUCTURE = "structure"


def read_schema_history(
    context: MigrationContext,
    inspector: Inspector,
    graph: RevisionGraph,
    operations: Mapping[str, RevisionOperations],
    rows: Sequence[str],
    reflected: Sequence[TableFact],
    live_names: Sequence[str],
    asked: Iterable[str] = (),
    cache: ComparisonCache | None = None,
) -> SchemaHistoryFacts:
    """The distance of every revision's schema from the live one, and alembic's comparison for
    the revisions that matter (an answer in ``cache`` reused while nothing it reads changed)."""
    missing = [r for r in graph.scripts if r not in operations]
    if missing:
        return SchemaHistoryFacts(
            unknown=f"{len(missing)} revision(s) could not be read (e.g. {missing[0]})"
        )
    asked = tuple(asked)
    try:
        key = _outcome_key(context, inspector, graph, operations, rows, asked, cache)
        if key is not None and cache is not None:
            kept = cache.get_pickled(key)
            if isinstance(kept, SchemaHistoryFacts):
                return kept
        inferred = _infer(
            context, inspector, graph, operations, rows, reflected, live_names, asked, cache
        )
    except Exception as error:
        if gave_up_waiting(error):  # a lock in the way is the run's failure, not a fact
            raise
        return SchemaHistoryFacts(unknown=f"the comparison failed: {describe_exception(error)}")
    if key is not None and cache is not None:
        cache.put_pickled(key, inferred)
    return inferred


def _outcome_key(
    context: MigrationContext,
    inspector: Inspector,
    graph: RevisionGraph,
    operations: Mapping[str, RevisionOperations],
    rows: Sequence[str],
    asked: Sequence[str],
    cache: ComparisonCache | None,
) -> str | None:
    """What identifies the whole inference, so that its outcome is kept and reused: the live
    schema and the comparison's settings (the comparison cache's live fingerprint), every
    revision's file when each alone shapes its recording (:func:`history_key`), the naming
    convention alembic names what operations make by, the version table's rows and the
    revisions asked about. None when one of them cannot be told (a
    recording that depends on more than its file, a revision in another schema than the
    fingerprinted one): the inference then runs."""
    from migdoctor.database.drift_cache import live_fingerprint

    if cache is None or not graph.heads:
        return None
    default_schema = inspector.default_schema_name
    if any(
        operation.schema not in (None, default_schema)
        for recorded in operations.values()
        for operation in recorded.operations
    ) or context.version_table_schema not in (None, default_schema):
        return None
    history = history_key(graph, operations, graph.heads)
    if history is None:
        return None
    live = live_fingerprint(context, inspector)
    if live is None:
        return None
    from migdoctor.operations.recording_context import naming_convention_key

    described = repr(
        (
            OUTCOME_SCHEMA,
            live,
            history,
            # the names alembic gives what operations make (add_column's index=True index)
            naming_convention_key(context),
            tuple(sorted(rows)),
            tuple(sorted(asked)),
        )
    )
    return "schema-history:" + hashlib.sha256(described.encode()).hexdigest()


def _infer(
    context: MigrationContext,
    inspector: Inspector,
    graph: RevisionGraph,
    operations: Mapping[str, RevisionOperations],
    rows: Sequence[str],
    reflected: Sequence[TableFact],
    live_names: Sequence[str],
    asked: Iterable[str],
    cache: ComparisonCache | None,
) -> SchemaHistoryFacts:
    oldest_first = list(reversed(graph.history()))
    position = {revision: index for index, revision in enumerate(oldest_first)}
    measure = Measure(
        context,
        inspector,
        inspector.default_schema_name,
        inspector.dialect.name in CASE_INSENSITIVE_TABLE_NAMES,
        history_tables(operations.values()),
        history_indexes(operations.values()),
        reflected,
        live_names,
        cache,
    )

    # one replay in history order; a revision whose parents are not exactly what was replayed
    # before it (a branch) starts from a copy of its parent's schema, kept for that purpose
    distances: dict[str, int] = {}
    schemas: dict[str, Measured] = {}
    branching = {r for r in oldest_first if len(graph.all_children[r]) > 1}
    restates = restates_altered_columns(inspector.dialect.name)
    replayed = Measured(
        ReplayedSchema(alter_restates_column=restates), measure.initial_distance(), {}
    )
    frontier: set[str] = set()
    for revision in oldest_first:
        parents = graph.parents(revision)
        if set(parents) == frontier:
            own = replayed
        elif len(parents) == 1 and parents[0] in schemas:
            own = schemas[parents[0]].copy()
        else:
            own = Measured(
                ReplayedSchema(alter_restates_column=restates), measure.initial_distance(), {}
            )
            own.schema.replay(operations[r] for r in oldest_first if r in graph.ancestors(parents))
            measure.update(own)
        own.schema.apply_revision(operations[revision])
        measure.update(own)
        if own is not replayed:
            # the union of the branches, for the merge that joins them
            replayed.schema.apply_revision(operations[revision])
            measure.update(replayed)
        frontier = (frontier - set(parents)) | {revision}
        distances[revision] = own.distance
        if revision in branching:
            schemas[revision] = own.copy()
    newest_first = sorted(distances, key=position.__getitem__, reverse=True)
    ranked = {revision: distances[revision] for revision in newest_first}

    known_rows = tuple(row for row in rows if row in graph)
    wanted: list[tuple[str, ...]] = []
    if len(known_rows) == len(rows):
        wanted.append(tuple(sorted(known_rows)))
    for identifier in asked:
        try:
            targets = graph.resolve(identifier)
        except LookupError:
            continue
        wanted.append(tuple(sorted(targets)))
    closest = sorted(newest_first, key=lambda r: ranked[r])[:CLOSEST_COMPARED]
    wanted += [(r,) for r in closest if ranked[r] == ranked[closest[0]]]
    wanted += [(head,) for head in graph.heads]

    compared: list[RevisionSchemaComparison] = []
    at_head = bool(known_rows) and len(known_rows) == len(rows) and not graph.pending(known_rows)
    if at_head and not asked and all(ranked.get(row) == 0 for row in known_rows):
        # the usual case, nothing to decide: tables, columns, types, nullability and indexes
        # are the head's, and schema-drift compares the rest with the models; a second full
        # comparison of a large schema would double what check costs
        compared.append(
            RevisionSchemaComparison(
                tuple(sorted(known_rows)),
                untracked_tables=measure.untracked,
                method=STRUCTURE,
            )
        )
        wanted = []
    for revisions in dict.fromkeys(wanted):
        schema = schema_at(graph, operations, revisions, oldest_first, restates)
        key = history_key(graph, operations, revisions)
        compared.append(measure.compare(revisions, schema, key))
    matching = tuple(
        c.revisions[0]
        for c in sorted(
            (c for c in compared if len(c.revisions) == 1 and c.matches),
            key=lambda c: position[c.revisions[0]],
            reverse=True,
        )
    )
    matching = tuple(dict.fromkeys(matching))
    return SchemaHistoryFacts(
        compared=tuple(compared),
        distances=ranked,
        matching=matching,
        stampable=_stampable(matching, compared),
        untracked_tables=measure.untracked,
    )


def _stampable(
    matching: tuple[str, ...], compared: Sequence[RevisionSchemaComparison]
) -> tuple[str, ...]:
    """The matches whose equality rests on no more uncertainty than the oldest match's: a later
    revision whose changes are all uncertain matches only because they were left out. (What a
    revision after the oldest match does to a table that was uncertain already is weighed with
    the live schema in ``operations/schema_position.matching_revisions``.)"""
    if not matching:
        return ()
    uncertain = {c.revisions[0]: set(c.uncertain_tables) for c in compared if len(c.revisions) == 1}
    baseline = uncertain.get(matching[-1], set())
    return tuple(r for r in matching if uncertain.get(r, set()) <= baseline)


def history_key(
    graph: RevisionGraph, operations: Mapping[str, RevisionOperations], revisions: Iterable[str]
) -> str | None:
    """What identifies the schema at ``revisions`` without building it: the files of every
    revision up to them (path, size, modification time, inode), when each of them alone shapes
    its recording (``reproducible``); None otherwise."""
    signatures = []
    for revision in sorted(graph.ancestors(revisions)):
        if not operations[revision].reproducible:
            return None
        try:
            stat = os.stat(graph.scripts[revision].path)
        except OSError:
            return None
        path = str(graph.scripts[revision].path)
        signatures.append((revision, path, stat.st_size, stat.st_mtime_ns, stat.st_ino))
    described = repr((__version__, OUTCOME_SCHEMA, tuple(sorted(revisions)), signatures))
    return "history:" + hashlib.sha256(described.encode()).hexdigest()


def schema_at(
    graph: RevisionGraph,
    operations: Mapping[str, RevisionOperations],
    revisions: Iterable[str],
    oldest_first: Sequence[str] | None = None,
    alter_restates_column: bool = False,
) -> ReplayedSchema:
    """The schema the history describes once ``revisions`` and all their ancestors ran (on
    MySQL or MariaDB when ``alter_restates_column``: see ``ReplayedSchema``)."""
    order = oldest_first if oldest_first is not None else list(reversed(graph.history()))
    needed = graph.ancestors(revisions)
    schema = ReplayedSchema(alter_restates_column=alter_restates_column)
    return schema.replay(operations[r] for r in order if r in needed)


def restates_altered_columns(dialect_name: str) -> bool:
    """Whether alembic's alter_column restates the whole column on this dialect (MODIFY)."""
    return dialect_name in ("mysql", "mariadb")


def history_tables(operations: Iterable[RevisionOperations]) -> set[TableKey]:
    """Every table any revision names."""
    named: set[TableKey] = set()
    for recorded in operations:
        for operation in recorded.operations:
            if operation.table:
                named.add((operation.schema, operation.table))
            if operation.kind == "rename_table" and operation.name:
                named.add((operation.schema, operation.name))
        named.update(recorded.uncertain_tables)
    return named


def history_indexes(operations: Iterable[RevisionOperations]) -> set[str]:
    """Every index name any revision creates (a live index outside them is not counted)."""
    return {
        operation.name
        for recorded in operations
        for operation in recorded.operations
        if operation.kind == "create_index" and operation.name
    } | {
        str(index.name)
        for recorded in operations
        for migrate_operation in recorded.migrate_operations or ()
        for column in getattr(migrate_operation, "columns", ())[:1]
        for index in getattr(getattr(column, "table", None), "indexes", ())
        if index.name
    }
