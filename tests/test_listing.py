"""``migdoctor heads`` and ``history`` print, byte for byte, what ``alembic heads`` and
``alembic history`` print: compared in-process with alembic's own ``Script.cmd_format`` on
generated histories, and through both command lines on real projects."""

from __future__ import annotations

import random
import types
import warnings
from collections.abc import Sequence
from pathlib import Path

import pytest

from benchmarks.generate import RevisionSpec, diamond_history, write_project
from migdoctor.project.graph import RevisionGraph
from migdoctor.project.listing import RevisionListing, history_revisions
from migdoctor.project.scripts import RevisionScript
from tests.conftest import Database
from tests.helpers import Project, copy_project, random_history, set_ini_option

DOC = "{message}\n\nRevision ID: {revision}\nCreate Date: 2024-01-01"


def forest(rng: random.Random, trees: int = 3, size: int = 40) -> list[RevisionSpec]:
    """Several histories side by side, as projects with one branch per component have them:
    each tree's base carries a branch label (one of them two), trees have branches and merges
    inside, and some revisions depend on revisions of another tree."""
    specs: list[RevisionSpec] = []
    for tree in range(trees):
        labels = (f"tree{tree}", f"alias{tree}") if tree == 1 else (f"tree{tree}",)
        tips: list[str] = []
        for index in range(size):
            revision = f"{tree}{index:03d}{rng.randrange(16**6):06x}"
            if not tips:
                down: tuple[str, ...] = ()
            elif len(tips) > 1 and rng.random() < 0.3:
                down = tuple(rng.sample(tips, 2))
            elif rng.random() < 0.2:
                down = (rng.choice(specs[-index:]).revision,)
            else:
                down = (rng.choice(tips),)
            depends: tuple[str, ...] = ()
            if tree and rng.random() < 0.1:
                other = rng.choice([s for s in specs if not s.revision.startswith(str(tree))])
                depends = (rng.choice([other.revision, f"tree{other.revision[0]}"]),)
            specs.append(
                RevisionSpec(
                    revision,
                    down,
                    f"step {index} of tree {tree}",
                    branch_labels=labels if not down else (),
                    depends_on=depends,
                )
            )
            tips = [t for t in tips if t not in down] + [revision]
    rng.shuffle(specs)
    return specs


def as_specs(history: Sequence[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]]):  # type: ignore[no-untyped-def]
    return [
        RevisionSpec(revision, down, f"message of {revision}", None, labels, depends)
        for revision, down, depends, labels in history
    ]


def both(specs: Sequence[RevisionSpec]):  # type: ignore[no-untyped-def]
    """alembic's RevisionMap of Script objects, and migdoctor's listing, of one history."""
    from alembic.script.base import Script
    from alembic.script.revision import RevisionMap

    scripts, ours = [], []
    for spec in specs:
        doc = DOC.format(message=spec.message, revision=spec.revision)
        path = f"/versions/{spec.revision}_x.py"
        down = spec.down_revisions
        module = types.SimpleNamespace(
            __doc__=doc,
            down_revision=down[0] if len(down) == 1 else (down or None),
            branch_labels=spec.branch_labels or None,
            depends_on=spec.depends_on or None,
        )
        scripts.append(Script(module, spec.revision, path))  # type: ignore[arg-type]
        ours.append(
            RevisionScript(
                spec.revision,
                down,
                spec.branch_labels,
                spec.depends_on,
                spec.message,
                Path(path),
                longdoc=doc,
            )
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        revision_map = RevisionMap(lambda: scripts)
        try:
            revision_map.heads  # noqa: B018 - builds the map, or raises as alembic would
        except Exception:  # noqa: BLE001 - a history alembic refuses: nothing to compare
            revision_map = None
    return revision_map, RevisionListing(RevisionGraph(ours))


def alembic_heads(revision_map, verbose: bool, resolve: bool) -> list[str]:  # type: ignore[no-untyped-def]
    heads = revision_map.get_revisions("heads" if resolve else revision_map.heads)
    return [r.cmd_format(verbose, include_branches=True, tree_indicators=False) for r in heads]


def alembic_history(revision_map, verbose: bool, upper: str, lower: str) -> list[str]:  # type: ignore[no-untyped-def]
    walked = revision_map.iterate_revisions(
        upper, lower, inclusive=True, assert_relative_length=False
    )
    return [
        r.cmd_format(verbose, include_branches=True, include_doc=True, include_parents=True)
        for r in walked
    ]


def assert_same_listing(revision_map, listing: RevisionListing) -> None:  # type: ignore[no-untyped-def]
    graph = listing.graph
    for verbose in (False, True):
        for resolve in (False, True):
            assert list(listing.heads_lines(verbose, resolve)) == alembic_heads(
                revision_map, verbose, resolve
            )
        assert list(listing.history_lines(graph.history(), verbose)) == alembic_history(
            revision_map, verbose, "heads", "base"
        )


@pytest.mark.parametrize("seed", range(12))
def test_labelled_forests_with_dependencies_list_as_alembic_lists_them(seed: int) -> None:
    revision_map, listing = both(forest(random.Random(seed)))

    assert revision_map is not None
    assert listing.exact
    assert any(len(labels) > 1 for labels in listing.labels.values())
    assert_same_listing(revision_map, listing)


def test_random_histories_list_as_alembic_lists_them() -> None:
    compared = 0
    for seed in range(60):
        rng = random.Random(seed)
        revision_map, listing = both(as_specs(random_history(rng, rng.randint(3, 120))))
        if revision_map is None:
            assert not listing.exact  # alembic refuses it: alembic must say so itself
        elif listing.exact:  # else labelled branches overlap: alembic prints, see below
            assert_same_listing(revision_map, listing)
            compared += 1
    assert compared >= 15


def test_history_ranges_walk_what_alembic_walks() -> None:
    handled = 0
    for seed in range(25):
        rng = random.Random(seed)
        history = [(r, d, (), ls) for r, d, _, ls in random_history(rng, rng.randint(3, 80))]
        revision_map, listing = both(as_specs(history))
        if revision_map is None:
            continue
        ids = [revision for revision, *_ in history]
        for _ in range(20):
            start = rng.choice(["", "base", *ids])
            end = rng.choice(["", "heads", "head", *ids])
            walked = history_revisions(listing.graph, f"{start}:{end}")
            try:
                expected = [
                    r.revision
                    for r in revision_map.iterate_revisions(
                        end or "heads",
                        start or "base",
                        inclusive=True,
                        assert_relative_length=False,
                    )
                ]
            except Exception:  # noqa: BLE001 - alembic refuses the range: so must migdoctor
                assert walked is None
                continue
            if walked is not None:
                handled += 1
                assert walked == expected, (start, end)
    assert handled >= 200


def test_overlapping_labelled_branches_are_left_to_alembic() -> None:
    specs = [
        RevisionSpec("a", (), "a", branch_labels=("one",)),
        RevisionSpec("b", ("a",), "b", branch_labels=("two",)),
        RevisionSpec("c", ("b",), "c"),
    ]
    _, listing = both(specs)

    assert not listing.exact


# -- through the command lines -------------------------------------------------------------


def same_output(project: Project, *arguments: str) -> str:
    """Run both; the same output, or the same failure (alembic prints ``FAILED: …`` on stdout
    and exits 255, migdoctor on stderr and exits 1). migdoctor's output is returned."""
    ours = project.migdoctor(*arguments)
    theirs = project.alembic(*arguments)
    if theirs.exit_code == 0:
        assert (ours.exit_code, ours.stdout) == (0, theirs.stdout), (ours, theirs)
    else:
        failed = theirs.stdout.strip().splitlines()[-1]
        assert failed.startswith("FAILED:"), theirs
        assert (ours.exit_code, ours.stderr.strip().splitlines()[-1]) == (1, failed), ours
    return ours.stdout


def test_blog_heads_and_history_as_alembic(tmp_path: Path) -> None:
    project = copy_project("blog", tmp_path / "blog", None)

    same_output(project, "history", "--verbose", "-r", "1a2b3c4d5e6f:")
    same_output(project, "history", "--rev-range=-1:")  # relative: alembic's own walk


def test_generated_history_with_labels_merges_and_dependencies(tmp_path: Path) -> None:
    specs = forest(random.Random(7), size=25) + diamond_history(30, merges=3, seed=3)
    write_project(tmp_path, specs, database=False)
    project = Project(tmp_path, None)

    same_output(project, "heads", "-v")
    history = same_output(project, "history", "-v")
    assert "Branch names: tree0" in history and "Also depends on:" in history


def test_a_history_parsed_on_two_cores_lists_as_alembic_lists_it(tmp_path: Path) -> None:
    # enough files without a cache that half are parsed in a forked child (parallel_read)
    specs = forest(random.Random(11), size=40) + diamond_history(1200, merges=60, seed=5)
    write_project(tmp_path, specs, database=False)
    project = Project(tmp_path, None)
    theirs = project.alembic("history", "-v")
    assert theirs.exit_code == 0, theirs

    for environment in ({"MIGDOCTOR_NO_CACHE": "1"}, {"MIGDOCTOR_SERIAL_READ": "1"}, {}):
        ours = project.migdoctor("history", "-v", env=environment)
        assert (ours.exit_code, ours.stdout) == (0, theirs.stdout), environment


def test_history_indicates_the_current_revision(blog: Project, database: Database) -> None:
    blog.upgrade("2b3c4d5e6f70")

    listed = same_output(blog, "history", "-v", "--indicate-current")

    assert "Rev: 2b3c4d5e6f70 (current)" in listed


def test_history_runs_env_py_when_the_config_asks_alembic_to(tmp_path: Path) -> None:
    project = copy_project("blog", tmp_path / "blog", None)
    set_ini_option(project.ini, "alembic", "revision_environment", "true")

    same_output(project, "history")
    # alembic's run of env.py (not migdoctor's, which never creates a database) made it
    assert (project.root / "blog.db").exists()
