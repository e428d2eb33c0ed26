"""alembic's own words for revisions: the lines ``alembic heads``, ``history`` and ``current``
print, computed from the :class:`RevisionGraph` without importing alembic.

alembic formats a revision with ``Script.cmd_format`` (``_head_only`` or ``log_entry`` in
``alembic/script/base.py``). Two of the things it prints are Python sets: the revisions a branch
point branches into (``Revision.nextrev``, a frozenset grown one ``union`` at a time while the
map is built) and a revision's branch labels (a set that ``RevisionMap._add_branches`` spreads
over the labelled branch). They print in the set's iteration order, which depends on the
process's hash seed: alembic's own output changes from one run to the next unless
``PYTHONHASHSEED`` is fixed. Here the same sets are built with the same operations in the same
order, so that migdoctor prints what alembic prints under the same hash seed.

One thing cannot be rebuilt that way: the order in which alembic visits labelled revisions (a
set of objects, hashed by address). It matters only when two labelled branches overlap (one's
labels reach revisions the other's reach); :attr:`RevisionListing.exact` is then False and the
caller lets alembic print. So does it for a graph alembic itself refuses or warns about.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from migdoctor.project.graph import RevisionGraph


class RevisionListing:
    """A graph seen the way alembic's ``Script`` objects present it."""

    def __init__(self, graph: RevisionGraph) -> None:
        self.graph = graph
        self._next: dict[str, frozenset[str]] = {}
        self._all_next: dict[str, frozenset[str]] = {}
        self.labels: dict[str, set[str]] = {}
        self.exact = self._is_clean() and self._spread_branch_labels()

    def _is_clean(self) -> bool:
        """What alembic loads without a warning or an error: anything else, alembic says."""
        graph = self.graph
        return not (graph.duplicates or graph.missing or graph.label_clashes or graph.cycle)

    # alembic's sets -----------------------------------------------------------------------

    def next_revisions(self, revision: str) -> frozenset[str]:
        """``Revision.nextrev``: children through ``down_revision``, in alembic's set order."""
        if revision not in self._next:
            self._grow_next_revisions(revision)
        return self._next[revision]

    def all_next_revisions(self, revision: str) -> frozenset[str]:
        """``Revision._all_nextrev``: children through ``down_revision`` or ``depends_on``."""
        if revision not in self._all_next:
            self._grow_next_revisions(revision)
        return self._all_next[revision]

    def _grow_next_revisions(self, revision: str) -> None:
        """Replay the ``add_nextrev`` calls of ``RevisionMap._revision_map``: once per child in
        file order, then once more per branch label of a labelled child (alembic's map holds a
        labelled revision under each label too, and walks the map's values). Each ``union``
        copies the set, which may reorder it: the count of copies matters, not only the
        members."""
        scripts = self.graph.scripts
        children = self.graph.all_children[revision]
        nextrev: frozenset[str] = frozenset()
        all_nextrev: frozenset[str] = frozenset()
        repeated = [c for c in children for _ in scripts[c].branch_labels]
        for child in (*children, *repeated):
            all_nextrev = all_nextrev.union([child])
            if revision in scripts[child].down_revisions:
                nextrev = nextrev.union([child])
        self._next[revision] = nextrev
        self._all_next[revision] = all_nextrev

    def _spread_branch_labels(self) -> bool:
        """``RevisionMap._add_branches``: a label reaches every descendant of its revision
        (through ``down_revision``), then, from the last descendant visited, the revisions
        below it down to a branch point or merge point. False when two labelled revisions
        reach one revision: then the result depends on alembic's visiting order."""
        graph = self.graph
        owner: dict[str, str] = {}
        for revision, script in graph.scripts.items():
            if not script.branch_labels:
                continue
            labels = self.labels.setdefault(revision, set(script.branch_labels))
            last = revision
            for node in self._descendants(revision):
                if owner.setdefault(node, revision) != revision:
                    return False
                self.labels.setdefault(node, set()).update(labels)
                last = node
            parent: str | None = last
            while parent is not None:
                if len(self.all_next_revisions(parent)) > 1:
                    break
                down = graph.scripts[parent].down_revisions
                if len(down) > 1:
                    break
                if owner.setdefault(parent, revision) != revision:
                    return False
                self.labels.setdefault(parent, set()).update(labels)
                parent = down[0] if down else None
        return True

    def _descendants(self, revision: str) -> Iterator[str]:
        """``RevisionMap._get_descendant_nodes(include_dependencies=False)``, in its order: a
        stack fed in ``nextrev``'s set order."""
        seen: set[str] = set()
        todo = [revision]
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            todo.extend(self.next_revisions(node))
            yield node

    # alembic's text ----------------------------------------------------------------------

    def head_only(
        self,
        revision: str,
        include_branches: bool = False,
        include_doc: bool = False,
        include_parents: bool = False,
        tree_indicators: bool = True,
        head_indicators: bool = True,
        current: bool = False,
    ) -> str:
        """``Script._head_only``."""
        graph = self.graph
        script = graph.scripts[revision]
        text = revision
        if include_parents:
            if script.depends_on:
                text = f"{_down(script.down_revisions)} ({', '.join(script.depends_on)}) -> {text}"
            else:
                text = f"{_down(script.down_revisions)} -> {text}"
        labels = self.labels.get(revision)
        if include_branches and labels:
            text += f" ({', '.join(labels)})"
        if head_indicators or tree_indicators:
            if not graph.all_children[revision]:
                text += " (head)"
            elif not graph.children[revision]:
                text += " (effective head)"
            if current:
                text += " (current)"
        if tree_indicators:
            if len(self.next_revisions(revision)) > 1:
                text += " (branchpoint)"
            if len(script.down_revisions) > 1:
                text += " (mergepoint)"
        if include_doc:
            text += f", {script.doc}"
        return text

    def log_entry(self, revision: str, current: bool = False) -> str:
        """``Script.log_entry`` (the ``-v`` form)."""
        graph = self.graph
        script = graph.scripts[revision]
        branch_point = len(self.next_revisions(revision)) > 1
        merge_point = len(script.down_revisions) > 1
        entry = (
            f"Rev: {revision}"
            + (" (head)" if not graph.children[revision] else "")
            + (" (branchpoint)" if branch_point else "")
            + (" (mergepoint)" if merge_point else "")
            + (" (current)" if current else "")
            + "\n"
        )
        entry += f"{'Merges' if merge_point else 'Parent'}: {_down(script.down_revisions)}\n"
        if script.depends_on:
            entry += f"Also depends on: {', '.join(script.depends_on)}\n"
        if branch_point:
            entry += f"Branches into: {', '.join(self.next_revisions(revision))}\n"
        labels = self.labels.get(revision)
        if labels:
            entry += f"Branch names: {', '.join(labels)}\n"
        entry += f"Path: {script.path}\n"
        entry += "\n{}\n".format("\n".join(f"    {line}" for line in script.longdoc.splitlines()))
        return entry

    def cmd_format(
        self,
        revision: str,
        verbose: bool,
        include_branches: bool = False,
        include_doc: bool = False,
        include_parents: bool = False,
        tree_indicators: bool = True,
        current: bool = False,
    ) -> str:
        """``Script.cmd_format``."""
        if verbose:
            return self.log_entry(revision, current)
        return self.head_only(
            revision, include_branches, include_doc, include_parents, tree_indicators, True, current
        )

    # the commands' lines ----------------------------------------------------------------

    def heads_lines(self, verbose: bool, resolve_dependencies: bool) -> Iterator[str]:
        """What ``alembic heads`` prints, one entry per head."""
        heads = self.graph.real_heads if resolve_dependencies else self.graph.heads
        for head in heads:
            yield self.cmd_format(head, verbose, include_branches=True, tree_indicators=False)

    def history_lines(
        self, revisions: Iterable[str], verbose: bool, current: Iterable[str] = ()
    ) -> Iterator[str]:
        """What ``alembic history`` prints for ``revisions`` (in walk order); ``current``
        are the database's revisions, marked with ``-i``."""
        marked = set(current)
        for revision in revisions:
            yield self.cmd_format(
                revision,
                verbose,
                include_branches=True,
                include_doc=True,
                include_parents=True,
                current=revision in marked,
            )


def _down(down_revisions: tuple[str, ...]) -> str:
    """``Script._format_down_revision``."""
    return ", ".join(down_revisions) if down_revisions else "<base>"


def history_revisions(graph: RevisionGraph, rev_range: str | None) -> list[str] | None:
    """The revisions ``alembic history [-r START:END]`` walks, newest first; None for a range
    this does not reproduce exactly (relative, branch or ``current`` bounds, partial ids, a
    range alembic refuses), which alembic must then answer itself.

    ``walk_revisions(base, head)`` takes what ``upgrade`` from START to END would run, START
    included, restricted to START's descendants. With ``depends_on`` in the history the set
    walked need not be closed under paths between its members, which the linear ordering of
    :meth:`RevisionGraph.alembic_order` relies on, so ranges are left to alembic there.
    """
    if rev_range is None:
        return graph.history()
    if rev_range.count(":") != 1:
        return None
    start, end = rev_range.strip().split(":")
    if any(script.depends_on for script in graph.scripts.values()):
        return None
    if end in ("", "heads"):
        targets = graph.real_heads
    elif end == "head" and len(graph.heads) == 1:
        targets = graph.heads
    elif end in graph.scripts:
        targets = (end,)
    else:
        return None
    required = graph.ancestors(targets)
    if start in ("", "base"):
        return graph.alembic_order(required, targets)
    if start not in graph.scripts or start not in required:
        return None
    walked = (required - graph.ancestors([start])) | {start}
    walked &= graph.descendants([start])
    return graph.alembic_order(walked, targets)
