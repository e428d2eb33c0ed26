"""``squash``: the revisions up to REV replaced by one revision with REV's id, proved first."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from migdoctor.cli.app import app
from migdoctor.cli.options import GlobalOptions, LockTimeoutOption, command_options
from migdoctor.errors import MigdoctorError


@app.command()
@command_options()
def squash(
    options: GlobalOptions,
    up_to: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at runtime
        typer.Option(
            "--up-to",
            metavar="REV",
            help="The last revision squashed; the new revision keeps its id. Default: the "
            "single head.",
            show_default=False,
        ),
    ] = None,
    message: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--message", "-m", metavar="M", help="The new revision's message."),
    ] = None,
    scratch_url: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--scratch-url",
            metavar="URL",
            help="A MySQL/MariaDB or PostgreSQL server to build the proof on (a database of "
            "squash's own is created and dropped there). Default: a temporary SQLite file.",
            show_default=False,
        ),
    ] = None,
    keep_data_migrations: Annotated[
        bool,
        typer.Option(
            "--keep-data-migrations",
            help="Copy the squashed revisions' data migrations, in order, into the new one.",
        ),
    ] = False,
    drop_data_migrations: Annotated[
        bool,
        typer.Option(
            "--drop-data-migrations", help="Leave the squashed revisions' data migrations out."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Prove and show the plan, change nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    lock_timeout: LockTimeoutOption = None,
) -> int:
    """Replace the revisions from base up to REV by one revision that keeps REV's id, after
    proving on scratch databases that it builds the same schema. Old files are archived;
    migdoctor undo moves them back."""
    from migdoctor.commands.squash import DROP, KEEP
    from migdoctor.commands.squash import squash as run_squash
    from migdoctor.render import stdout_console
    from migdoctor.render.interaction import TerminalInteraction

    if keep_data_migrations and drop_data_migrations:
        raise MigdoctorError("Choose one of --keep-data-migrations and --drop-data-migrations.")
    data = KEEP if keep_data_migrations else DROP if drop_data_migrations else None
    return run_squash(
        options.config_options(lock_timeout),
        options.invocation(),
        up_to=up_to,
        message=message,
        scratch_url=scratch_url,
        data_migrations=data,
        dry_run=dry_run,
        yes=yes,
        lock_timeout=lock_timeout,  # None: lock_timeout in [tool.migdoctor], else the default
        ui=TerminalInteraction(stdout_console(), options.invocation()),
    )
