"""``log``: the ledger of applied revisions."""

from __future__ import annotations

from typing import Annotated

import typer

from migdoctor.cli.app import app
from migdoctor.cli.options import GlobalOptions, ReadTimeoutOption, command_options
from migdoctor.errors import MigdoctorError


@app.command("log")
@command_options()
def log(
    options: GlobalOptions,
    output_format: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="text or json.")
    ] = "text",
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", min=1, help="Show the newest N entries.")
    ] = 50,
    lock_timeout: ReadTimeoutOption = None,
) -> int:
    """List the ledger: each revision migdoctor upgraded, downgraded or stamped here, with the
    sha256 of its file, when, by whom, how long it took."""
    from migdoctor.commands.ledger_log import show_log

    if output_format not in ("text", "json"):
        raise MigdoctorError(f"Unknown format {output_format!r}: choose text or json.")
    return show_log(options.config_options(lock_timeout), output_format, limit)
