"""The benchmark runs (on a history far too small to time anything): the figures in the README
can be reproduced with ``python -m benchmarks.run``."""

from __future__ import annotations

import sys

from tests.helpers import REPOSITORY, run


def test_the_benchmark_runs_on_a_small_history() -> None:
    result = run([sys.executable, "-m", "benchmarks.run", "--quick"], REPOSITORY, timeout=60)

    assert result.exit_code == 0, result
    for row in (
        "check --offline / heads",
        "history / history",
        "check (at head) / current",
        "check (version table emptied) / current",
    ):
        assert f"| {row} |" in result.stdout
    assert "| `check --targets` / 4 x `check` | 4 |" in result.stdout  # the fleet table
    assert "| crowded | 200 |" in result.stdout  # the linearity table's last row
    assert "per revision, 200 vs 100" in result.stdout
