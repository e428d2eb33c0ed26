"""``--targets FILE`` of ``check`` and ``upgrade``: one history, many databases."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from migdoctor.cli.options import GlobalOptions
from migdoctor.errors import MigdoctorError

TargetsOption = Annotated[
    Optional[Path],  # noqa: UP045 - typer reads the annotation at runtime
    typer.Option(
        "--targets",
        metavar="FILE",
        help="Run on every database of FILE: one per line, NAME URL [-x KEY=VALUE ...].",
        show_default=False,
    ),
]
JobsOption = Annotated[
    Optional[int],  # noqa: UP045
    typer.Option(
        "--jobs",
        "-j",
        metavar="N",
        min=1,
        help="With --targets: how many databases at once [default: the number of cores].",
        show_default=False,
    ),
]


def check_fleet(
    options: GlobalOptions,
    targets_file: Path,
    jobs: int | None,
    output_format: str,
    lock_timeout: float | None,
    select: list[str],
    ignore: list[str],
) -> int:
    from migdoctor.commands.fleet import check_targets, worst_exit_code
    from migdoctor.project.targets import read_targets
    from migdoctor.render import stdout_console
    from migdoctor.render.fleet import render_fleet_json, render_fleet_text

    if output_format not in ("text", "json"):
        raise MigdoctorError(
            f"--targets reports as text or json, not {output_format}.",
            hint="Check one database at a time for sarif or github annotations.",
        )
    if options.url:
        raise MigdoctorError("--targets names the databases: leave --url out.")
    targets = read_targets(targets_file)
    outcomes = check_targets(
        options.config_options(lock_timeout),
        targets,
        jobs or os.cpu_count() or 1,
        select=select,
        ignore=ignore,
        invocation=options.invocation(),
    )
    exit_code = worst_exit_code(outcomes)
    if output_format == "json":
        typer.echo(render_fleet_json(outcomes, exit_code))
    else:
        render_fleet_text(outcomes, exit_code, stdout_console())
    return exit_code


def upgrade_fleet(
    options: GlobalOptions,
    targets_file: Path,
    revision: str,
    keep_going: bool,
    lock_timeout: float | None,
    statement_timeout: float | None,
    retries: int | None,
) -> int:
    """``upgrade --targets``: the flags not given are the project's settings, decided once for
    every target (they share the project); ``retries`` applies to each target on its own."""
    from migdoctor.commands.fleet import upgrade_targets, worst_exit_code
    from migdoctor.project.targets import read_targets
    from migdoctor.render import stdout_console
    from migdoctor.render.fleet import render_upgrade_summary, render_upgraded

    if options.url:
        raise MigdoctorError("--targets names the databases: leave --url out.")
    targets = read_targets(targets_file)
    console = stdout_console()
    outcomes = upgrade_targets(
        options.config_options(lock_timeout, statement_timeout, retries),
        targets,
        revision,
        keep_going=keep_going,
        lock_timeout=lock_timeout,
        invocation=options.invocation(),
        on_done=lambda outcome: render_upgraded(outcome, console),
    )
    render_upgrade_summary(outcomes, len(targets), keep_going, console)
    # stopped early only after a target that did not end well: its code is the worst
    return worst_exit_code(outcomes)
