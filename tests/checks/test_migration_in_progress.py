"""migration-in-progress: check run while an upgrade pauses half way through a revision
(helpers.Pausing), on every backend through the installed CLI: the run is named, and the half-done
revision is not taken for a problem."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Database
from tests.helpers import (
    SLOW,
    finish,
    pausing_project,
)


def test_check_during_a_run_says_an_upgrade_is_in_progress(
    tmp_path: Path, database: Database
) -> None:
    pausing = pausing_project(tmp_path, database)
    run = pausing.start("upgrade", "--lock-timeout", "30")
    try:
        pausing.wait_until_paused(run)
        during = pausing.project.migdoctor("check", "--format", "json")
        text_report = pausing.project.migdoctor("check")
    finally:
        pausing.go_on()
        code, output = finish(run)

    assert code == 0, output
    assert during.exit_code == 1, during
    report = during.json()
    found = {f["check"] for f in report["findings"]}
    assert "migration-in-progress" in found, report
    assert not found & {"partial-migration", "table-exists", "stale-current"}, found
    progress = next(f for f in report["findings"] if f["check"] == "migration-in-progress")
    assert progress["title"] == "An upgrade is in progress"
    assert progress["evidence"]["revision"] == SLOW
    assert progress["evidence"]["doing"] == "upgrade"
    assert progress["evidence"]["seconds_held"] >= 0
    if database.backend == "sqlite":
        assert progress["evidence"]["process"] == f"process {run.pid}"
    else:
        assert progress["evidence"]["session"]
        assert f"session {progress['evidence']['session']}" in progress["evidence"]["holder"]
    assert "An upgrade is in progress" in text_report.stdout
    flat = " ".join(text_report.stdout.replace("│", " ").split())  # the panel wraps lines
    assert "running revision 8b8b8b8b8b8b (slow tag)" in flat, text_report
    for word in ("✗ partial-migration", "✗ table-exists", "stamp --force", "neuter-upgrade"):
        assert word not in text_report.stdout, text_report
    assert "skipped: another run is in progress" in text_report.stdout

    after = pausing.project.migdoctor("check", "--format", "json")
    assert after.exit_code == 0, after
    assert "migration-in-progress" not in {f["check"] for f in after.json()["findings"]}
