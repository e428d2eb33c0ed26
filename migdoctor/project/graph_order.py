"""The order alembic runs and lists the revisions of a graph in, in time linear in revisions and
edges (``tests/test_graph_order.py`` compares it with alembic's on crowded histories)."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

from migdoctor.project.scripts import RevisionScript


class AlembicOrder:
    """alembic's ordering of the revisions of a :class:`~migdoctor.project.graph.RevisionGraph`
    (its base class), from the edges the graph holds."""

    scripts: dict[str, RevisionScript]
    down: dict[str, tuple[str, ...]]
    dependencies: dict[str, tuple[str, ...]]
    children: dict[str, list[str]]
    _normalized: dict[str, tuple[str, ...]] | None

    def position(self, revision: str) -> int:
        """Order in which alembic first read the revision's file (the graph tells)."""
        raise NotImplementedError

    def normalized_parents(self, revision: str) -> tuple[str, ...]:
        """alembic's ``_normalized_down_revisions``: dependencies already depended on by a
        down_revision ancestor are left out."""
        if self._normalized is None:
            self._normalized = self._normalize_dependencies()
        return self._normalized[revision]

    def _normalize_dependencies(self) -> dict[str, tuple[str, ...]]:
        """Each revision's down revisions, then its dependencies that no ancestor through
        ``down_revision`` depends on already, in the order alembic keeps them (the iteration
        order of the set it builds, as ``tuple(set)``).

        Which dependencies each revision inherits is one bit mask per revision, built from
        its parents' in one pass from the bases up: linear in revisions and edges, where
        walking every dependent revision's ancestry would be quadratic.
        """
        normalized = {revision: self.down[revision] for revision in self.scripts}
        targets = {d for deps in self.dependencies.values() for d in deps}
        if not targets:
            return normalized
        bit = {target: 1 << index for index, target in enumerate(sorted(targets))}
        own = {r: _mask(self.dependencies[r], bit) for r in self.scripts}
        inherited: dict[str, int] = {}
        waiting = {revision: len(self.down[revision]) for revision in self.scripts}
        ready = [revision for revision, count in waiting.items() if count == 0]
        while ready:
            revision = ready.pop()
            mask = 0
            for parent in self.down[revision]:
                mask |= inherited[parent] | own[parent]
            inherited[revision] = mask
            for child in self.children[revision]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
        for revision in self.scripts:
            dependencies = self.dependencies[revision]
            if not dependencies:
                continue
            known = inherited.get(revision)
            if known is None:  # on or above a cycle: walk its ancestry instead
                known = _mask(self._inherited_by_walking(revision), bit)
            kept = tuple(d for d in set(dependencies) if not known & bit[d])
            normalized[revision] = dedupe(self.down[revision] + kept)
        return normalized

    def _inherited_by_walking(self, revision: str) -> set[str]:
        inherited: set[str] = set()
        seen = {revision}
        todo = list(self.down[revision])
        while todo:
            ancestor = todo.pop()
            if ancestor in seen:
                continue
            seen.add(ancestor)
            inherited.update(self.dependencies[ancestor])
            todo.extend(self.down[ancestor])
        return inherited

    def alembic_order(self, todo: set[str], heads: Iterable[str]) -> list[str]:
        """``RevisionMap._topological_sort``: descendants before ancestors, exactly as alembic
        orders them.

        alembic walks one branch (a "slot" here) down as far as it can. A revision that is
        still an ancestor of another branch being walked is not emitted yet: alembic then
        switches to the first such branch in its list of branches. It keeps the full ancestor
        set of every branch to find it, which costs the size of the history at every merge and
        branch point. Here the same answers come in time linear in revisions and edges, times
        the logarithm of the number of unmerged heads (``benchmarks/run.py`` measures it):

        - a revision is still an ancestor of another branch exactly when it has a child not
          yet emitted (every revision still to emit lies below a branch being walked, and
          paths between two of them never leave the set being sorted);
        - the first branch in alembic's list that has the revision below it is the one with
          the smallest ``first_reaching`` value among the revision's children not yet emitted.
          ``first_reaching[r]`` is the smallest list key of the branches whose head has ``r``
          below (or at) it: a branch keeps its place in the list when it moves down, and new
          branches go to the end, so list order is the order of keys given at creation. It
          only ever grows, and is kept up to date from each emitted revision's parents down,
          as far as it changes; each revision keeps its children's values in a heap. A value
          changes when the branch it names ends; with heads whose list order is random (files
          are read in name order), a revision below h heads sees about ln(h) such changes.
        """
        todo = set(todo)
        parents = {r: [p for p in self.normalized_parents(r) if p in todo] for r in todo}
        children: dict[str, list[str]] = {r: [] for r in todo}
        for revision in todo:
            for parent in parents[revision]:
                children[parent].append(revision)
        branches = _Branches()
        for head in sorted({head for head in heads if head in todo}, key=self.position):
            branches.append(head)
        reaching = _FirstReaching(todo, parents, children, branches)

        output: list[str] = []
        branch = branches.first
        switches = 0
        while branch is not None:
            candidate = branch.head
            if reaching.children_waiting(candidate):
                key = reaching.smallest_among_children(candidate)
                above = branches.by_key.get(key) if key is not None else None
                if above is None:
                    above = self._first_branch_above(branches, branch, candidate, todo)
                # each switch goes to a branch above the last one: more switches than there
                # are branches, and they go round a cycle
                switches += 1
                if above is None or switches > len(branches.by_key):
                    # only a cycle gets here; the revision-cycle check reports it, and the
                    # order of what is left no longer means anything
                    return output + sorted(todo, key=self.position)
                branch = above
                continue
            switches = 0
            output.append(candidate)
            todo.remove(candidate)
            branches.release(candidate)
            to_add = [p for p in parents[candidate] if p in todo and p not in branches.of_head]
            if to_add:
                branches.move(branch, to_add[0])
                for parent in to_add[1:]:
                    branches.append(parent)
                next_branch: _Branch | None = branch
            else:
                next_branch = branches.remove(branch)
            reaching.update(parents[candidate])
            branch = next_branch
        return output

    def _first_branch_above(
        self, branches: _Branches, current: _Branch, candidate: str, todo: set[str]
    ) -> _Branch | None:
        """The first other branch that still has ``candidate`` below it, by walking down from
        each: only for a graph with a cycle, where the values kept for the rest are not."""
        for branch in branches:
            if branch is not current and self._reaches(branch.head, candidate, todo):
                return branch
        return None

    def _reaches(self, start: str, goal: str, todo: set[str]) -> bool:
        seen = {start}
        pending = [start]
        while pending:
            revision = pending.pop()
            if revision == goal:
                return True
            for parent in self.normalized_parents(revision):
                if parent in todo and parent not in seen:
                    seen.add(parent)
                    pending.append(parent)
        return False


class _Branch:
    """One branch alembic walks: its current head and its place (key) in alembic's list."""

    __slots__ = ("head", "key", "next", "previous")

    def __init__(self, key: int, head: str) -> None:
        self.key = key
        self.head = head
        self.previous: _Branch | None = None
        self.next: _Branch | None = None


class _Branches:
    """alembic's list of branch heads (``current_heads``) as a linked list: a branch keeps its
    place when its head moves down, new ones are appended, and removing one goes back to the
    one before it (alembic: ``max(index - 1, 0)``), all in constant time."""

    def __init__(self) -> None:
        self.first: _Branch | None = None
        self.last: _Branch | None = None
        self.of_head: dict[str, _Branch] = {}
        self.by_key: dict[int, _Branch] = {}
        self._keys = 0

    def __iter__(self) -> Iterator[_Branch]:
        branch = self.first
        while branch is not None:
            yield branch
            branch = branch.next

    def append(self, head: str) -> _Branch:
        branch = _Branch(self._keys, head)
        self._keys += 1
        self.of_head[head] = branch
        self.by_key[branch.key] = branch
        if self.last is None:
            self.first = self.last = branch
        else:
            branch.previous, self.last.next, self.last = self.last, branch, branch
        return branch

    def move(self, branch: _Branch, head: str) -> None:
        branch.head = head
        self.of_head[head] = branch

    def release(self, head: str) -> None:
        """``head`` was emitted: it no longer heads its branch."""
        del self.of_head[head]

    def remove(self, branch: _Branch) -> _Branch | None:
        """Drop ``branch``; the one alembic continues with."""
        previous, following = branch.previous, branch.next
        if previous is None:
            self.first = following
        else:
            previous.next = following
        if following is None:
            self.last = previous
        else:
            following.previous = previous
        del self.by_key[branch.key]
        return previous if previous is not None else self.first


class _FirstReaching:
    """For each revision still to emit, the smallest key of the branches whose head has it
    below or at it (see :meth:`RevisionGraph.alembic_order`)."""

    def __init__(
        self,
        todo: set[str],
        parents: dict[str, list[str]],
        children: dict[str, list[str]],
        branches: _Branches,
    ) -> None:
        self.todo = todo
        self.parents = parents
        self.children = children
        self.branches = branches
        self.value: dict[str, float] = {}
        self.heap: dict[str, list[tuple[float, str]]] = {r: [] for r in todo}
        self.waiting = {revision: len(children[revision]) for revision in todo}
        # from the heads down: a revision's value needs its children's
        remaining = dict(self.waiting)
        ready = [revision for revision, count in remaining.items() if count == 0]
        while ready:
            revision = ready.pop()
            self.value[revision] = value = self._evaluate(revision)
            for parent in parents[revision]:
                heapq.heappush(self.heap[parent], (value, revision))
                remaining[parent] -= 1
                if remaining[parent] == 0:
                    ready.append(parent)

    def children_waiting(self, revision: str) -> int:
        return self.waiting[revision]

    def smallest_among_children(self, revision: str) -> int | None:
        value = self._smallest_child(revision)
        return None if value == _NONE else int(value)

    def _smallest_child(self, revision: str) -> float:
        heap = self.heap[revision]
        while heap:
            value, child = heap[0]
            if child in self.todo and self.value.get(child) == value:
                return value
            heapq.heappop(heap)  # emitted since, or its value grew
        return _NONE

    def _evaluate(self, revision: str) -> float:
        branch = self.branches.of_head.get(revision)
        own = branch.key if branch is not None else _NONE
        return min(own, self._smallest_child(revision))

    def update(self, emitted_parents: list[str]) -> None:
        """A revision was emitted and branches moved: recompute from its parents down, as far
        as values change."""
        for parent in emitted_parents:
            self.waiting[parent] -= 1
        pending = list(emitted_parents)
        while pending:
            revision = pending.pop()
            if revision not in self.todo:
                continue
            value = self._evaluate(revision)
            if self.value.get(revision) != value:
                self.value[revision] = value
                for parent in self.parents[revision]:
                    heapq.heappush(self.heap[parent], (value, revision))
                    pending.append(parent)


_NONE = float("inf")


def _mask(ids: Iterable[str], bit: dict[str, int]) -> int:
    mask = 0
    for revision in ids:
        mask |= bit[revision]
    return mask


def dedupe(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ids))
