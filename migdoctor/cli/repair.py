"""``fix`` and ``undo``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from migdoctor.cli.app import app
from migdoctor.cli.options import GlobalOptions, LockTimeoutOption, command_options
from migdoctor.fixes import FIX_MODULES


@app.command()
@command_options()
def fix(
    options: GlobalOptions,
    fix_id: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at runtime
        typer.Argument(
            metavar="FIX-ID",
            help=f"{', '.join(FIX_MODULES)}. Without it: show the plan of every fix, change "
            "nothing.",
            show_default=False,
        ),
    ] = None,
    revision: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--revision", "-r", metavar="REV", help="The revision the fix acts on."),
    ] = None,
    session: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--session", metavar="ID", help="The database session end-session ends."),
    ] = None,
    onto: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--onto",
            metavar="REV",
            help="The revision reparent-revision, renumber-revision or rebase-heads puts the "
            "revision (or branch) after.",
        ),
    ] = None,
    path: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--path", metavar="FILE", help="Which file renumber-revision renumbers."),
    ] = None,
    metadata: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--metadata",
            metavar="MODULE:ATTRIBUTE",
            help="The MetaData wire-target-metadata passes (a declarative base, a MetaData, "
            "a Flask-SQLAlchemy db), e.g. myapp.models:Base.",
        ),
    ] = None,
    with_ancestors: Annotated[
        bool,
        typer.Option(
            "--with-ancestors",
            help="restore-revision: restore the revision's missing parents from git too.",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan, change nothing.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Apply even when the evidence says it is wrong here.")
    ] = False,
    interactive: Annotated[
        bool, typer.Option("--interactive", "-i", help="Walk through each finding and its fixes.")
    ] = False,
    lock_timeout: LockTimeoutOption = None,
) -> int:
    """Repair what check found: show the plan, ask, apply, keep a way back."""
    from migdoctor.commands import fix as repair
    from migdoctor.render import stdout_console
    from migdoctor.render.interaction import TerminalInteraction
    from migdoctor.repair.plan import FixRequest

    ui = TerminalInteraction(stdout_console(), options.invocation())
    config_options, invocation = options.config_options(lock_timeout), options.invocation()
    if interactive:
        return repair.interactive(config_options, invocation, lock_timeout=lock_timeout, ui=ui)
    if fix_id is None:
        return repair.show_plans(config_options, invocation, ui)
    return repair.fix_one(
        config_options,
        invocation,
        FixRequest(
            fix_id,
            revision,
            force,
            session,
            onto=onto,
            path=path,
            metadata=metadata,
            with_ancestors=with_ancestors,
        ),
        yes=yes,
        dry_run=dry_run,
        lock_timeout=lock_timeout,  # None: lock_timeout in [tool.migdoctor], else the default
        ui=ui,
    )


@app.command()
@command_options()
def undo(
    options: GlobalOptions,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Undo without asking.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what undo would do.")] = False,
    list_entries: Annotated[
        bool, typer.Option("--list", help="Show the journal of fixes.")
    ] = False,
    lock_timeout: LockTimeoutOption = None,
) -> int:
    """Revert the last applied fix, once it is verified that nothing changed since."""
    from migdoctor.commands.undo import undo as undo_last_fix
    from migdoctor.render import stdout_console
    from migdoctor.render.interaction import TerminalInteraction

    return undo_last_fix(
        options.config_options(lock_timeout),
        options.invocation(),
        yes=yes,
        dry_run=dry_run,
        list_entries=list_entries,
        lock_timeout=lock_timeout,  # None: lock_timeout in [tool.migdoctor], else the default
        ui=TerminalInteraction(stdout_console(), options.invocation()),
    )
