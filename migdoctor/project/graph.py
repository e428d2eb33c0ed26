"""The revision graph, with alembic's meaning and in time linear in revisions + edges.

alembic's ``RevisionMap`` decides what heads, bases, ancestry and upgrade order are; this module
gives the same answers (``tests/test_graph_order.py`` and ``tests/test_offline_and_graph.py``
compare them on generated histories) without importing alembic, and without crashing where
alembic does: a missing ``down_revision``, a duplicate id, a clashing branch label or a cycle are
recorded as facts for the checks to report.

Two notions of head, as in alembic:

- ``heads``: revisions no other revision names as ``down_revision`` (``alembic heads``; what
  ``head`` resolves against);
- ``real_heads``: revisions nothing names, counting ``depends_on`` too (``upgrade heads``).

The order alembic runs and lists revisions in is :mod:`migdoctor.project.graph_order`'s.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from migdoctor.project.graph_order import AlembicOrder, dedupe
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


class RevisionGraph(AlembicOrder):
    """Revisions and their edges; read-only once built."""

    def __init__(self, scripts: Sequence[RevisionScript]) -> None:
        self.scripts: dict[str, RevisionScript] = {}
        self._history: list[str] | None = None
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
            self.dependencies[revision] = dedupe(self._known(revision, resolved, "depends_on"))

        self.children: dict[str, list[str]] = {revision: [] for revision in self.scripts}
        self.all_children: dict[str, list[str]] = {revision: [] for revision in self.scripts}
        for revision in self.scripts:
            for parent in self.down[revision]:
                self.children[parent].append(revision)
            for parent in dedupe(self.down[revision] + self.dependencies[revision]):
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
        return dedupe(self.down[revision] + self.dependencies[revision])

    def branch_labels_of(self, revision: str) -> tuple[str, ...]:
        """The branch labels ``revision`` carries, sorted: its own and those of every
        down_revision ancestor. alembic's ``_add_branches`` gives a label to all descendants of
        the revision that declares it (not through depends_on); for a head that is the whole
        story, so ``label@head`` names a head exactly when no other head carries ``label``."""
        labels: set[str] = set()
        for carrier in self.label_sources(revision):
            labels.update(self.scripts[carrier].branch_labels)
        return tuple(sorted(labels))

    def label_sources(self, revision: str) -> set[str]:
        """``revision`` and its down_revision ancestors: the revisions whose branch labels it
        carries."""
        seen = {revision}
        todo = [revision]
        while todo:
            for parent in self.down[todo.pop()]:
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    def unknown_labels_of(self, revision: str) -> list[str]:
        """The revisions among :meth:`label_sources` whose ``branch_labels`` could not be read
        (computed, and the file does not import here), in file order."""
        unknown = [
            source
            for source in self.label_sources(revision)
            if any(field == "branch_labels" for field, _ in self.scripts[source].unresolved)
        ]
        return sorted(unknown, key=self.position)

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
        """Every revision, newest first, in the order ``alembic history`` lists them (worked
        out once: the graph does not change, and several checks ask)."""
        if self._history is None:
            self._history = self.alembic_order(set(self.scripts), self.real_heads)
        return list(self._history)

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

    # overlap ----------------------------------------------------------------------------

    def overlapping(self, revisions: Iterable[str]) -> list[str]:
        """Those of ``revisions`` that are an ancestor of another one of them (alembic refuses
        such a set: "Requested revision X overlaps with other requested revisions"), in the
        order given; one walk down from all of them together."""
        given = [revision for revision in revisions if revision in self.scripts]
        below = self.ancestors(given, include_self=False)
        return [revision for revision in dict.fromkeys(given) if revision in below]


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
