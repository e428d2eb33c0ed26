"""The graph's linear-time ordering still orders exactly as alembic's ``RevisionMap`` on the
histories that stress it: many unmerged heads, revisions depending on several others (whose
order alembic takes from a set), and the overlap alembic refuses."""

from __future__ import annotations

import random
import warnings

import pytest

from tests.helpers import alembic_map, our_graph, random_history


def crowded_history(rng: random.Random, size: int):  # type: ignore[no-untyped-def]
    """A random history with many dangling heads and multi-revision depends_on."""
    history = sorted(random_history(rng, size))  # ids begin with their creation index
    ids = [revision for revision, *_ in history]
    crowded = []
    for index, (revision, down, depends, labels) in enumerate(history):
        if index and rng.random() < 0.15:  # on older revisions only: no cycle
            picked = {rng.choice(ids[:index]) for _ in range(rng.choice((1, 2, 3)))}
            depends = tuple(sorted(picked - set(down)))
        crowded.append((revision, down, depends, labels))
    for index in range(size // 5):  # heads nobody merges
        crowded.append((f"dangling{index}", (rng.choice(ids),), (), ()))
    rng.shuffle(crowded)
    return crowded


@pytest.mark.parametrize("seed", range(20))
def test_crowded_histories_order_as_alembic_orders_them(seed: int) -> None:
    rng = random.Random(1000 + seed)
    history = crowded_history(rng, rng.randint(20, 90))
    graph = our_graph(history)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        revision_map = alembic_map(history)
        try:
            expected = [
                r.revision
                for r in revision_map.iterate_revisions(
                    "heads", "base", inclusive=True, assert_relative_length=False
                )
            ]
        except Exception:  # noqa: BLE001 - a history alembic refuses (a cycle of depends_on)
            return

    assert graph.history() == expected
    ids = [revision for revision, *_ in history]
    for _ in range(6):
        current = tuple(rng.sample(ids, rng.choice((1, 2))))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                upgrade = [
                    r.revision
                    for r in revision_map.iterate_revisions("heads", current, implicit_base=True)
                ]
            except Exception as error:  # noqa: BLE001 - alembic refuses overlapping revisions
                assert "overlaps" in str(error)
                assert graph.overlapping(current)
                continue
        assert not graph.overlapping(current)
        assert graph.pending(current) == list(reversed(upgrade))


def test_overlap_names_the_ancestor() -> None:
    graph = our_graph([("a", (), (), ()), ("b", ("a",), (), ()), ("c", ("b",), (), ())])

    assert graph.overlapping(["c", "a"]) == ["a"]
    assert graph.overlapping(["b"]) == []
    assert graph.overlapping(["c", "gone"]) == []


def test_a_cycle_below_the_heads_does_not_hang_the_ordering() -> None:
    graph = our_graph(
        [
            ("a", ("c",), (), ()),
            ("b", ("a",), (), ()),
            ("c", ("b",), (), ()),
            ("d", ("b",), (), ()),
            ("e", ("a",), ("d",), ()),
        ]
    )

    assert set(graph.cycle) >= {"a", "b", "c"}
    assert sorted(graph.history()) == ["a", "b", "c", "d", "e"]
    assert sorted(graph.pending([])) == ["a", "b", "c", "d", "e"]
