"""What sibling branches of the history both change: the same column, or the same table
created, dropped or renamed, by operations recorded (online) or read from the files (offline).
Evidence for multiple-heads: a merge revision joins such branches without reconciling them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from migdoctor.facts.operations import Operation, RevisionOperations
from migdoctor.project.graph import RevisionGraph

_COLUMN_KINDS = ("add_column", "drop_column", "alter_column")
_TABLE_KINDS = ("create_table", "drop_table", "rename_table")


@dataclass(frozen=True)
class SharedChange:
    """One table or column both branches change: ``what`` in words (``column user.bio``), and
    for each branch (by its head) the revisions and operations that change it."""

    what: str
    by_branch: tuple[tuple[str, tuple[str, ...]], ...]


def change_targets(operation: Operation) -> list[str]:
    """What an operation changes, in the words shared changes are named by (``column user.bio``,
    ``table user``); nothing for the kinds not compared (indexes, constraints, raw SQL)."""
    table = operation.qualified_table
    if table is None:
        return []
    if operation.kind in _COLUMN_KINDS:
        return [f"column {table}.{column}" for column in operation.columns]
    if operation.kind in _TABLE_KINDS:
        return [f"table {table}"]
    return []


def diverged_revisions(graph: RevisionGraph, heads: Sequence[str]) -> dict[str, list[str]]:
    """Each head's own branch: its revisions that not every head builds on, oldest first."""
    common = graph.ancestors([heads[0]])
    for head in heads[1:]:
        common &= graph.ancestors([head])
    return {head: sorted(graph.ancestors([head]) - common, key=graph.position) for head in heads}


def shared_changes(
    graph: RevisionGraph, heads: Sequence[str], operations: Mapping[str, RevisionOperations]
) -> list[SharedChange]:
    """The columns, then the tables, that two or more of the heads' branches change."""
    changes: dict[str, dict[str, list[str]]] = {}
    for head, revisions in diverged_revisions(graph, heads).items():
        for revision in revisions:
            recorded = operations.get(revision)
            for operation in recorded.operations if recorded else ():
                for target in change_targets(operation):
                    done = changes.setdefault(target, {}).setdefault(head, [])
                    done.append(f"{revision}: {operation.describe()}")
    shared = [
        SharedChange(what, tuple((head, tuple(done)) for head, done in by_branch.items()))
        for what, by_branch in changes.items()
        if len(by_branch) > 1
    ]
    return sorted(shared, key=lambda change: (not change.what.startswith("column"), change.what))
