"""A fleet of databases sharing one history: ``migdoctor check --targets FILE`` against the same
databases checked one ``migdoctor check`` run after the other (what a shell loop over tenants
does today). Goal: the fleet in at most 0.3x the time of the separate runs."""

from __future__ import annotations

import os
import shutil
import statistics
import sys
from pathlib import Path

from benchmarks.commands import console_script, run_once, timing_environment
from benchmarks.generate import diamond_history, write_project

GOAL = 0.3


def time_fleet(root: Path, databases: int, revisions: int, repeat: int) -> tuple[float, float]:
    """(separate runs, one fleet run) in seconds: medians of ``repeat`` alternating rounds."""
    project = root / f"fleet-{revisions}"
    if not (project / "alembic.ini").exists():
        print(f"generating {revisions} revisions in {project}", file=sys.stderr)
        write_project(project, diamond_history(revisions, max(1, revisions // 20)))
    lines = []
    for index in range(databases):
        copy = project / f"tenant-{index}.db"
        if not copy.exists():
            shutil.copy(project / "app.db", copy)
        lines.append(f"tenant-{index} sqlite:///{copy}")
    targets = project / "targets.txt"
    targets.write_text("\n".join(lines) + "\n")
    environment = timing_environment()
    migdoctor = console_script("migdoctor")
    run_once([*migdoctor, "check"], project, environment)  # the parse cache, the file system
    separate, fleet = [], []
    for _ in range(repeat):
        separate.append(
            sum(
                run_once(
                    [*migdoctor, "--url", f"sqlite:///{project / f'tenant-{i}.db'}", "check"],
                    project,
                    environment,
                )
                for i in range(databases)
            )
        )
        fleet.append(
            run_once([*migdoctor, "check", "--targets", str(targets)], project, environment)
        )
    return statistics.median(separate), statistics.median(fleet)


def print_fleet(databases: int, revisions: int, separate: float, fleet: float) -> None:
    ratio = fleet / separate
    print(
        f"fleets: {databases} SQLite databases at the head of {revisions} revisions, "
        f"{os.cpu_count()} cores"
    )
    print()
    print("| command | databases | separate runs | check --targets | ratio | goal | met |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| `check --targets` / {databases} x `check` | {databases} | {separate:.2f} s "
        f"| {fleet:.2f} s | {ratio:.2f}x | <= {GOAL}x | {'yes' if ratio <= GOAL else 'NO'} |"
    )
