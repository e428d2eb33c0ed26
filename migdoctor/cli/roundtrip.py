"""``roundtrip``: every downgrade undoes its upgrade, proved on a scratch database."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from migdoctor.cli.app import app
from migdoctor.cli.options import GlobalOptions, command_options
from migdoctor.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, MigdoctorError, Terminated


@app.command()
@command_options("config", "name", "x", "debug")
def roundtrip(
    options: GlobalOptions,
    scratch_url: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at runtime
        typer.Option(
            "--scratch-url",
            metavar="URL",
            help="A MySQL/MariaDB or PostgreSQL server to create the scratch database on "
            "(the database it names is only connected to). Default: a temporary SQLite file.",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="text (for people) or json.")
    ] = "text",
) -> int:
    """Prove each downgrade undoes its upgrade and the models match the head, on a scratch
    database created for the run and dropped after it (never the configured one).

    Exit 0: all good, 1: problems found, 2: could not run.
    """
    from contextlib import nullcontext

    from migdoctor.commands.roundtrip import roundtrip as run_roundtrip
    from migdoctor.render import stdout_console, stdout_for_report_only

    if output_format not in ("text", "json"):
        raise MigdoctorError(f"Unknown format {output_format!r}: choose text or json.")
    try:
        with stdout_for_report_only() if output_format == "json" else nullcontext():
            report = run_roundtrip(options.config_options(), scratch_url)
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (Terminated)
        terminated = isinstance(stop, Terminated)
        name = getattr(stop, "scratch_database", None)
        typer.echo(
            f"migdoctor: {'terminated (SIGTERM)' if terminated else 'interrupted'}; "
            f"the scratch database{f' {name}' if name else ''} was dropped, nothing else was "
            "touched.",
            err=True,
        )
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    if output_format == "json":
        from migdoctor.render.roundtrip import render_roundtrip_json

        typer.echo(render_roundtrip_json(report))
    else:
        from migdoctor.render.roundtrip import render_roundtrip_text

        render_roundtrip_text(report, stdout_console())
    return report.exit_code
