"""The revision graph, with alembic's meaning and in time linear in revisions + edges.

alembic's ``RevisionMap`` decides what heads, bases, ancestry and upgrade order are; this module
gives the same answers (``tests/test_graph_equivalence.py`` compares them on generated
histories) without importing alembic, and without crashing where alembic does: a missing
``down_revision``, a duplicate id, a clashing branch label or a cycle are recorded as facts for
the checks to report.

Two notions of head, as in alembic:

- ``heads``: revisions no other revision names as ``down_revision`` (``alembic heads``; what
  ``head`` resolves against);
- ``real_heads``: revisions nothing names, counting ``depends_on`` too (``upgrade heads``).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from migdoctor.project.scripts import RevisionScript

SIMILAR_PREFIX = 4


@dataclass(frozen=True)
class MissingReference:
    """``revision`` names ``missing`` (down_revision or depends_on); no script defines it."""

    revision: str
    missing: str
    via: str  # "down_revision" or "depends_on"


@dataclass(frozen=True)
class LabelClash:
    """A branch label declared by two revisions, or equal to a revision id."""

    label: str
    revisions: tuple[str, ...]


class RevisionGraph:
    """Revisions and their edges; read-only once built."""

    def __init__(self, scripts: Sequence[RevisionScript]) -> None:
        self.scripts: dict[str, RevisionScript] = {}
        self.duplicates: dict[str, list[Path]] = {}
        self._position: dict[str, int] = {}
        for script in scripts:
            if script.revision in self.scripts:
                paths = self.duplicates.setdefault(
                    script.revision, [self.scripts[script.revision].path]
                )
                paths.append(script.path)
            else:
                self._position[script.revision] = len(self._position)
            # as in alembic, the file read last wins
            self.scripts[script.revision] = script

        self.labels: dict[str, str] = {}
        self.label_clashes: list[LabelClash] = []
        for script in self.scripts.values():
            for label in script.branch_labels:
                if label in self.labels or label in self.scripts:
                    other = self.labels.get(label, label)
                    self.label_clashes.append(LabelClash(label, (other, script.revision)))
                    continue
                self.labels[label] = script.revision

        self.missing: list[MissingReference] = []
        self.down: dict[str, tuple[str, ...]] = {}
        self.dependencies: dict[str, tuple[str, ...]] = {}
        for revision, script in self.scripts.items():
            self.down[revision] = self._known(revision, script.down_revisions, "down_revision")
            resolved = tuple(self.labels.get(dep, dep) for dep in script.depends_on)
            self.dependencies[revision] = _dedupe(self._known(revision, resolved, "depends_on"))

        self.children: dict[str, list[str]] = {revision: [] for revision in self.scripts}
        self.all_children: dict[str, list[str]] = {revision: [] for revision in self.scripts}
        for revision in self.scripts:
            for parent in self.down[revision]:
                self.children[parent].append(revision)
            for parent in _dedupe(self.down[revision] + self.dependencies[revision]):
                self.all_children[parent].append(revision)

        self.heads: tuple[str, ...] = tuple(r for r in self.scripts if not self.children[r])
        self.real_heads: tuple[str, ...] = tuple(
            r for r in self.scripts if not self.all_children[r]
        )
        self.bases: tuple[str, ...] = tuple(
            r for r, s in self.scripts.items() if not s.down_revisions
        )
        self.cycle: tuple[str, ...] = self._revisions_in_cycles()
        self._normalized: dict[str, tuple[str, ...]] | None = None

    def _known(self, revision: str, ids: Iterable[str], via: str) -> tuple[str, ...]:
        known = []
        for ref in ids:
            if ref in self.scripts:
                known.append(ref)
            else:
                self.missing.append(MissingReference(revision, ref, via))
        return tuple(known)

    def __contains__(self, revision: object) -> bool:
        return revision in self.scripts

    def __len__(self) -> int:
        return len(self.scripts)

    def parents(self, revision: str) -> tuple[str, ...]:
        """down_revisions and dependencies that exist, deduplicated (alembic's full down set)."""
        return _dedupe(self.down[revision] + self.dependencies[revision])

    def branch_labels_of(self, revision: str) -> tuple[str, ...]:
        """The branch labels ``revision`` carries, sorted: its own and those of every
        down_revision ancestor. alembic's ``_add_branches`` gives a label to all descendants of
        the revision that declares it (not through depends_on); for a head that is the whole
        story, so ``label@head`` names a head exactly when no other head carries ``label``."""
        labels: set[str] = set()
        seen = {revision}
        todo = [revision]
        while todo:
            current = todo.pop()
            labels.update(self.scripts[current].branch_labels)
            for parent in self.down[current]:
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return tuple(sorted(labels))

    def position(self, revision: str) -> int:
        """Order in which alembic first read the revision's file."""
        return self._position[revision]

    def _revisions_in_cycles(self) -> tuple[str, ...]:
        """Revisions that lie on (or above) a cycle: Kahn's algorithm cannot remove them."""
        waiting = {revision: len(self.parents(revision)) for revision in self.scripts}
        ready = deque(revision for revision, count in waiting.items() if count == 0)
        removed = 0
        while ready:
            revision = ready.popleft()
            removed += 1
            for child in self.all_children[revision]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
        if removed == len(self.scripts):
            return ()
        return tuple(revision for revision, count in waiting.items() if count > 0)

    # ancestry ---------------------------------------------------------------------------

    def ancestors(self, revisions: Iterable[str], include_self: bool = True) -> set[str]:
        """Every revision reachable downwards (down_revision and depends_on)."""
        start = [revision for revision in revisions if revision in self.scripts]
        seen: set[str] = set(start) if include_self else set()
        todo = list(start)
        while todo:
            for parent in self.parents(todo.pop()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    def descendants(self, revisions: Iterable[str], include_self: bool = True) -> set[str]:
        """Every revision reachable upwards (revisions that build on these)."""
        start = [revision for revision in revisions if revision in self.scripts]
        seen: set[str] = set(start) if include_self else set()
        todo = list(start)
        while todo:
            for child in self.all_children[todo.pop()]:
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
        return seen

    def pending(self, current: Iterable[str], targets: Iterable[str] | None = None) -> list[str]:
        """Revisions ``upgrade`` would run from ``current`` to ``targets`` (default: all heads),
        in the order alembic runs them."""
        target_list = list(self.real_heads if targets is None else targets)
        needed = self.ancestors(target_list) - self.ancestors(current)
        return list(reversed(self.alembic_order(needed, target_list)))

    def history(self) -> list[str]:
        """Every revision, newest first, in the order ``alembic history`` lists them."""
        return self.alembic_order(set(self.scripts), self.real_heads)

    def resolve(self, identifier: str) -> tuple[str, ...]:
        """Revision ids for ``identifier`` as alembic reads it: an id, a unique prefix of four
        or more characters, ``head``, ``heads``, ``base``, a branch label or ``label@head``.
        Raises LookupError with alembic's words when it names nothing (or more than one)."""
        if identifier == "base":
            return ()
        if identifier == "heads":
            return self.real_heads
        label, _, rest = identifier.rpartition("@")
        if label and rest in ("head", "heads"):
            if label not in self.labels:
                raise LookupError(f"No such branch: '{label}'")
            lineage = self.descendants([self.labels[label]])
            heads = tuple(h for h in self.heads if h in lineage)
            if rest == "head" and len(heads) > 1:
                raise LookupError(
                    f"Multiple heads are present on branch '{label}': {', '.join(heads)}"
                )
            return heads
        if identifier == "head":
            if len(self.heads) > 1:
                raise LookupError(
                    f"Multiple head revisions are present ({', '.join(self.heads)}); "
                    "name one, or use heads"
                )
            return self.heads
        if identifier in self.scripts:
            return (identifier,)
        if identifier in self.labels:
            return (self.labels[identifier],)
        matches = [r for r in self.scripts if len(identifier) >= 4 and r.startswith(identifier)]
        if len(matches) == 1:
            return (matches[0],)
        if len(matches) > 1:
            shown = ", ".join(f"'{m}'" for m in matches[:3])
            raise LookupError(f"Multiple revisions start with '{identifier}': {shown}...")
        raise LookupError(
            f"Can't locate revision identified by '{identifier}': no revision file defines it"
        )

    def looks_like(self, identifier: str) -> list[str]:
        """Known ids a mistyped ``identifier`` may have meant, closest first: those sharing a
        prefix of four or more characters, or differing by one or two characters."""
        scored = []
        for revision in self.scripts:
            prefix = _common_prefix(identifier, revision)
            if prefix >= SIMILAR_PREFIX or _differs_by_at_most_2(identifier, revision):
                scored.append((-prefix, revision))
        return [revision for _, revision in sorted(scored)[:5]]

    # alembic's ordering -----------------------------------------------------------------

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
            normalized[revision] = _dedupe(self.down[revision] + kept)
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

    # overlap ----------------------------------------------------------------------------

    def overlapping(self, revisions: Iterable[str]) -> list[str]:
        """Those of ``revisions`` that are an ancestor of another one of them (alembic refuses
        such a set: "Requested revision X overlaps with other requested revisions"), in the
        order given; one walk down from all of them together."""
        given = [revision for revision in revisions if revision in self.scripts]
        below = self.ancestors(given, include_self=False)
        return [revision for revision in dict.fromkeys(given) if revision in below]


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


def _common_prefix(a: str, b: str) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


def _differs_by_at_most_2(a: str, b: str) -> bool:
    """Two or fewer edits apart: substitutions for ids of one length (the usual typo), the
    full edit distance otherwise."""
    if abs(len(a) - len(b)) > 2:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 2
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1] <= 2


def _dedupe(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ids))
