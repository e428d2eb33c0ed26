"""``plan``: what each pending operation will lock, scan, rewrite or break on this database."""

from __future__ import annotations

from typing import Annotated

import typer

from migdoctor.cli.app import app
from migdoctor.cli.options import GlobalOptions, ReadTimeoutOption, command_options
from migdoctor.errors import MigdoctorError


@app.command("plan")
@command_options()
def plan_command(
    options: GlobalOptions,
    revision: Annotated[
        str,
        typer.Argument(metavar="REVISION", help="The revision to upgrade to (default: heads)."),
    ] = "heads",
    output_format: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="text (for people) or json.")
    ] = "text",
    offline: Annotated[
        bool,
        typer.Option("--offline", help="No database: the head revisions, without sizes."),
    ] = False,
    lock_timeout: ReadTimeoutOption = None,
) -> int:
    """Per pending revision and operation: the lock it takes, what that blocks, the table's
    rows and size, its hazards, and whether migdoctor predicts the upgrade succeeds.

    Exit 0: predicted to succeed, 1: an operation will fail, 2: could not plan.
    """
    from contextlib import nullcontext

    from migdoctor.commands.plan import plan
    from migdoctor.render import stdout_console, stdout_for_report_only

    if output_format not in ("text", "json"):
        raise MigdoctorError(f"Unknown format {output_format!r}: choose text or json.")
    with stdout_for_report_only() if output_format == "json" else nullcontext():
        upgrade_plan = plan(
            options.config_options(lock_timeout),
            target=revision,
            offline=offline,
            invocation=options.invocation(),
        )
    if output_format == "json":
        from migdoctor.render.upgrade_plan import render_plan_json

        typer.echo(render_plan_json(upgrade_plan))
    else:
        from migdoctor.render.upgrade_plan import render_plan_text

        render_plan_text(upgrade_plan, stdout_console())
    return upgrade_plan.exit_code
