"""Time migdoctor against alembic side by side, and migdoctor's graph computations as the
history grows.

    python -m benchmarks.run            # the full benchmark: a few minutes
    python -m benchmarks.run --quick    # a small history, one run each: it works, nothing more
    python -m benchmarks.run --only cold   # only the comparisons whose label says "cold"

The first table runs each command pair on the same generated project (``benchmarks.generate``:
a trunk with diamond merges, each revision creating one table, a SQLite database at the head),
alternating migdoctor and alembic, and reports medians and their ratio against the goal.
migdoctor runs with a warm parse cache (``.migdoctor/cache``, written by a run before the timed
ones), as it does from the second run on in a project; the last column is the same command
with the cache turned off. The "cold" row is a fresh clone, as in CI: no parse cache and no
bytecode of the version files (alembic writes none either in that row), so both sides import
every file from source. The second table times what migdoctor computes on the revision graph
itself at 1k to 20k revisions: the time per revision stays flat when the work is linear.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.big_schema import BACKENDS, print_big_schema, time_big_schemas
from benchmarks.commands import compile_migdoctor, console_script, run_once, timing_environment
from benchmarks.fleet import print_fleet, time_fleet
from benchmarks.generate import RevisionSpec, diamond_history, file_name, write_project


@dataclass(frozen=True)
class Comparison:
    """One migdoctor command timed against the alembic command it stands for."""

    label: str
    migdoctor: tuple[str, ...]
    alembic: tuple[str, ...]
    project: str | None  # "large", "medium", or None: run anywhere
    goal: float
    cached: bool = True  # migdoctor reads revision files (so a warm cache applies)
    # exit codes that mean it ran (check exits 1 when it finds the problem it is timed on)
    exit_codes: tuple[int, ...] = (0,)
    # as in a fresh clone (CI): no parse cache for migdoctor, and no bytecode of the version
    # files for either (any removed first, none written: PYTHONDONTWRITEBYTECODE=1 for both)
    cold: bool = False


COMPARISONS = (
    Comparison("check --offline / heads", ("check", "--offline"), ("heads",), "large", 0.25),
    Comparison(
        "check --offline, cold (no cache) / heads",
        ("check", "--offline"),
        ("heads",),
        "large",
        0.4,
        cached=False,
        cold=True,
    ),
    Comparison("history / history", ("history",), ("history",), "large", 0.25),
    Comparison("check (at head) / current", ("check",), ("current",), "medium", 0.5),
    # which revision is the schema at: every revision recorded, replayed and measured, alembic's
    # comparison for the closest ones (the version table emptied over a database at the head)
    Comparison(
        "check (version table emptied) / current",
        ("check",),
        ("current",),
        "inference",
        1.0,
        exit_codes=(0, 1),
    ),
    Comparison("--help / --help", ("--help",), ("--help",), None, 0.5, cached=False),
)


@dataclass(frozen=True)
class Shape:
    revisions: int
    merges: int

    @property
    def label(self) -> str:
        return f"{self.revisions:,} rev / {self.merges} merges"


@dataclass(frozen=True)
class Timing:
    comparison: Comparison
    shape: Shape | None
    alembic: float
    migdoctor: float
    uncached: float | None

    @property
    def ratio(self) -> float:
        return self.migdoctor / self.alembic


def time_comparison(
    comparison: Comparison, cwd: Path, shape: Shape | None, repeat: int, warm_up: bool
) -> Timing:
    environment = timing_environment()
    uncached_environment = dict(environment, MIGDOCTOR_NO_CACHE="1")
    if comparison.cold:
        for bytecode in cwd.rglob("__pycache__"):
            shutil.rmtree(bytecode)
        environment = dict(uncached_environment, PYTHONDONTWRITEBYTECODE="1")
    ours = console_script("migdoctor") + list(comparison.migdoctor)
    theirs = console_script("alembic") + list(comparison.alembic)
    codes = comparison.exit_codes
    if warm_up:  # fills the parse cache, and the file system's
        run_once(ours, cwd, environment, codes)
        run_once(theirs, cwd, environment)
    mine: list[float] = []
    alembics: list[float] = []
    uncached: list[float] = []
    for index in range(repeat):
        # alternate who goes first, so that neither always runs on a warmer machine
        pair = [(ours, environment, mine), (theirs, environment, alembics)]
        if comparison.cached and warm_up:
            pair.append((ours, uncached_environment, uncached))
        for command, env, results in pair if index % 2 == 0 else reversed(pair):
            results.append(run_once(command, cwd, env, codes if command is ours else (0,)))
    return Timing(
        comparison,
        shape,
        statistics.median(alembics),
        statistics.median(mine),
        statistics.median(uncached) if uncached else None,
    )


def empty_version_table(database: Path) -> None:
    """The classic "start over" mistake: the version rows deleted, every table left."""
    import sqlite3

    connection = sqlite3.connect(database)
    with connection:
        connection.execute("DELETE FROM alembic_version")
    connection.close()


# the graph computations ----------------------------------------------------------------


def graph_scripts(specs: Sequence[RevisionSpec]) -> list[object]:
    """RevisionScripts in the order alembic reads the files (sorted by name)."""
    from migdoctor.project.scripts import RevisionScript

    return [
        RevisionScript(
            spec.revision,
            spec.down_revisions,
            spec.branch_labels,
            spec.depends_on,
            spec.message,
            Path("versions") / file_name(spec),
            longdoc=spec.message,
        )
        for spec in sorted(specs, key=file_name)
    ]


def with_dependencies(specs: list[RevisionSpec], seed: int = 0) -> list[RevisionSpec]:
    """One revision in twenty also depends on an older one, as cross-branch needs do."""
    rng = random.Random(seed)
    result: list[RevisionSpec] = []
    for index, spec in enumerate(specs):
        depends: tuple[str, ...] = ()
        if index > 10 and rng.random() < 0.05:
            older = specs[rng.randrange(index - 1)].revision
            depends = () if older in spec.down_revisions else (older,)
        result.append(
            RevisionSpec(spec.revision, spec.down_revisions, spec.message, None, (), depends)
        )
    return result


GRAPH_SHAPES = {
    "diamonds": "a merge every 20 revisions, one head",
    "crowded": "the same, plus an unmerged head every 200 revisions and depends_on on one in 20",
}


def graph_timings(shape: str, revisions: int, rounds: int) -> dict[str, float]:
    """Seconds (best of ``rounds``) of each computation on a history of ``revisions``."""
    from migdoctor.project.graph import RevisionGraph
    from migdoctor.project.listing import RevisionListing

    if shape == "crowded":
        specs = with_dependencies(diamond_history(revisions, revisions // 20, revisions // 200))
    else:
        specs = diamond_history(revisions, revisions // 20)
    scripts = graph_scripts(specs)
    trunk = [spec.revision for spec in specs]
    version_rows = [trunk[len(trunk) // 3], trunk[len(trunk) // 2], trunk[-1]]

    def fresh() -> RevisionGraph:
        return RevisionGraph(scripts)  # type: ignore[arg-type]

    graph = fresh()
    graph.normalized_parents(trunk[0])
    steps: dict[str, Callable[[], object]] = {
        "graph + heads": lambda: fresh().heads,
        "pending (all)": lambda: graph.pending([graph.bases[0]]),
        "ancestry": lambda: graph.ancestors(graph.real_heads),
        "history order": graph.history,
        "overlap": lambda: graph.overlapping(version_rows),
        "history text": lambda: list(
            RevisionListing(graph).history_lines(graph.history(), verbose=False)
        ),
    }
    best: dict[str, float] = {}
    for name, step in steps.items():
        for _ in range(rounds):
            started = time.perf_counter()
            step()
            elapsed = time.perf_counter() - started
            best[name] = min(best.get(name, elapsed), elapsed)
    return best


# the tables -------------------------------------------------------------------------------


def print_comparisons(timings: Sequence[Timing], repeat: int, quick: bool) -> None:
    print(
        f"migdoctor vs alembic: median of {repeat} alternating run(s); migdoctor with a warm "
        "parse cache (last column: without), except in the cold rows (no cache, no bytecode)"
        + (
            " -- QUICK RUN: histories far too small for the goals, which are set at 5k/10k"
            if quick
            else ""
        )
    )
    print()
    header = (
        "| command (migdoctor / alembic) | history | alembic | migdoctor | ratio | goal "
        "| met | migdoctor, no cache |"
    )
    print(header)
    print("|" + "|".join("---" for _ in range(header.count("|") - 1)) + "|")
    for timing in timings:
        comparison = timing.comparison
        uncached = f"{timing.uncached:.2f} s" if timing.uncached is not None else "n/a"
        print(
            f"| {comparison.label} | {timing.shape.label if timing.shape else '-'} "
            f"| {timing.alembic:.2f} s | {timing.migdoctor:.2f} s | {timing.ratio:.2f}x "
            f"| <= {comparison.goal}x | {'yes' if timing.ratio <= comparison.goal else 'NO'} "
            f"| {uncached} |"
        )


def print_linearity(results: dict[tuple[str, int], dict[str, float]]) -> None:
    names = list(next(iter(results.values())))
    print(
        "migdoctor's graph computations, best of 3: milliseconds, and microseconds per "
        "revision (flat when the work is linear)"
    )
    for shape, description in GRAPH_SHAPES.items():
        print(f"- {shape}: {description}")
    print()
    header = "| history | revisions | " + " | ".join(names) + " |"
    print(header)
    print("|" + "|".join("---" for _ in range(len(names) + 2)) + "|")
    for shape in GRAPH_SHAPES:
        sizes = sorted(size for kind, size in results if kind == shape)
        for size in sizes:
            row = results[shape, size]
            cells = [f"{row[n] * 1e3:.1f} ms ({row[n] / size * 1e6:.1f} µs)" for n in names]
            print(f"| {shape} | {size:,} | " + " | ".join(cells) + " |")
        first, last = results[shape, sizes[0]], results[shape, sizes[-1]]
        growth = [(last[n] / sizes[-1]) / (first[n] / sizes[0]) for n in names]
        print(
            f"| {shape} | per revision, {sizes[-1]:,} vs {sizes[0]:,} | "
            + " | ".join(f"{g:.1f}x" for g in growth)
            + " |"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small history, one run each")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each command")
    parser.add_argument("--workdir", type=Path, help="where to generate (default: temporary)")
    parser.add_argument(
        "--only",
        metavar="TEXT",
        help="time only the comparisons whose label contains TEXT (and not the other tables)",
    )
    arguments = parser.parse_args(argv)
    compile_migdoctor()
    comparisons = [c for c in COMPARISONS if arguments.only is None or arguments.only in c.label]

    if arguments.quick:
        shapes = {"large": Shape(60, 3), "medium": Shape(40, 2), "inference": Shape(30, 1)}
        repeat, warm_up, sizes, rounds = 1, False, (100, 200), 1
    else:
        shapes = {
            "large": Shape(10_000, 500),
            "medium": Shape(5_000, 250),
            "inference": Shape(1_000, 50),
        }
        repeat, warm_up, sizes, rounds = arguments.repeat, True, (1000, 5000, 10_000, 20_000), 3

    with tempfile.TemporaryDirectory(prefix="migdoctor-bench-") as temporary:
        root = arguments.workdir or Path(temporary)
        projects: dict[str, Path] = {}
        wanted = {comparison.project for comparison in comparisons}
        for name, shape in shapes.items():
            if name not in wanted:
                continue
            folder = root / f"{name}-{shape.revisions}"
            if not (folder / "alembic.ini").exists():
                print(f"generating {shape.label} in {folder}", file=sys.stderr)
                write_project(folder, diamond_history(shape.revisions, shape.merges))
                if name == "inference":
                    empty_version_table(folder / "app.db")
            projects[name] = folder
        timings = []
        for comparison in comparisons:
            cwd = projects[comparison.project] if comparison.project else root
            shape = shapes[comparison.project] if comparison.project else None
            print(f"timing {comparison.label}", file=sys.stderr)
            timings.append(time_comparison(comparison, cwd, shape, repeat, warm_up))
        print_comparisons(timings, repeat, arguments.quick)
        if arguments.only is not None:
            return
        print()
        fleet_size, fleet_revisions = (4, 20) if arguments.quick else (50, 200)
        print("timing a fleet", file=sys.stderr)
        separate, fleet = time_fleet(root, fleet_size, fleet_revisions, repeat)
        print_fleet(fleet_size, fleet_revisions, separate, fleet)
        print()
        sizes_of_schemas = (20,) if arguments.quick else (500, 1000)
        backends = ("sqlite",) if arguments.quick else BACKENDS
        print_big_schema(time_big_schemas(root, sizes_of_schemas, repeat, backends))
        print()
        print("timing the graph computations", file=sys.stderr)
        print_linearity(
            {
                (shape, size): graph_timings(shape, size, rounds)
                for shape in GRAPH_SHAPES
                for size in sizes
            }
        )


if __name__ == "__main__":
    main()
