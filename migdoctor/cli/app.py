"""The ``migdoctor`` typer application, the options taken before any subcommand, and ``main``.

Nothing heavy is imported at module level, so ``migdoctor --help`` starts without SQLAlchemy or
alembic; each command imports what it needs.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from migdoctor import __version__
from migdoctor.cli.options import (
    ConfigOption,
    DebugOption,
    GlobalOptions,
    NameOption,
    NoLedgerOption,
    UrlOption,
    XOption,
)

app = typer.Typer(
    name="migdoctor",
    help=(
        "A doctor for Alembic migration projects: names what is wrong with the migrations and "
        "the database, proves it, and repairs it only with your consent."
    ),
    no_args_is_help=True,
    add_completion=False,
    # plain help: typer's rich help imports rich and markdown-it, doubling the time --help takes
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"migdoctor {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    config: ConfigOption = None,
    name: NameOption = None,
    x: XOption = None,
    url: UrlOption = None,
    debug: DebugOption = False,
    no_ledger: NoLedgerOption = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    ctx.obj = GlobalOptions().merged(config, name, x, url, debug, no_ledger)


def main() -> None:
    """Console entry point."""
    import signal

    from migdoctor.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated

    def terminated(signum: int, frame: object) -> None:
        # as Ctrl-C: a run says what it left instead of dying without a word
        raise Terminated

    signal.signal(signal.SIGTERM, terminated)
    try:
        app(prog_name="migdoctor")
    except Terminated:
        typer.echo("migdoctor: terminated (SIGTERM).", err=True)
        sys.exit(EXIT_TERMINATED)
    except KeyboardInterrupt:
        typer.echo("migdoctor: interrupted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
