"""The migrate commands, argument-compatible with alembic's: ``current``, ``upgrade``,
``downgrade``, ``stamp`` (guarded), and ``heads``, ``history``, ``revision``, ``merge``,
``init``."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from migdoctor.cli.app import app
from migdoctor.cli.fleet import TargetsOption, upgrade_fleet
from migdoctor.cli.options import (
    GlobalOptions,
    LockTimeoutOption,
    command_options,
)
from migdoctor.errors import MigdoctorError

# alembic accepts relative targets such as "-1" as the revision argument
RELATIVE_REVISION = {"ignore_unknown_options": True}

VerboseOption = Annotated[bool, typer.Option("-v", "--verbose", help="Use more verbose output.")]
SqlOption = Annotated[
    bool, typer.Option("--sql", help="Print the SQL instead of running it (offline).")
]
TagOption = Annotated[
    Optional[str],  # noqa: UP045 - typer reads the annotation at runtime
    typer.Option("--tag", help="Passed to env.py."),
]
StatementTimeoutOption = Annotated[
    Optional[float],  # noqa: UP045
    typer.Option(
        "--statement-timeout",
        metavar="SECONDS",
        min=0,
        help="Stop a statement of the migration that runs longer (PostgreSQL, MariaDB; MySQL: "
        "SELECTs only). The revision fails as on any error. Default: statement_timeout in "
        "[tool.migdoctor], else no limit.",
        show_default=False,
    ),
]
RetriesOption = Annotated[
    Optional[int],  # noqa: UP045 - typer reads the annotation at run time
    typer.Option(
        "--retries",
        metavar="N",
        min=0,
        help="Try a revision that gave up on a lock (--lock-timeout) again, up to N times, "
        "waiting longer each time, when nothing of it took effect; each attempt is journaled "
        "in .migdoctor/journal.jsonl. Default: retries in [tool.migdoctor], else 0.",
        show_default=False,
    ),
]
PreflightOption = Annotated[
    bool,
    typer.Option(
        "--preflight/--no-preflight",
        help="Refuse (changing nothing) when the checks predict the run would fail.",
    ),
]


@app.command()
@command_options()
def current(
    options: GlobalOptions,
    verbose: VerboseOption = False,
    check_heads: Annotated[
        bool,
        typer.Option("--check-heads", help="Exit 1 unless the database is on all head revisions."),
    ] = False,
) -> int:
    """Show the database's current revision(s); an unknown id is shown, never a crash."""
    from migdoctor.commands.passthrough import show_current

    return show_current(options.config_options(), verbose=verbose, check_heads=check_heads)


@app.command(context_settings=RELATIVE_REVISION)
@command_options()
def upgrade(
    options: GlobalOptions,
    revision: Annotated[str, typer.Argument(help="Target revision [default: heads].")] = "heads",
    sql: SqlOption = False,
    tag: TagOption = None,
    preflight: PreflightOption = True,
    lock_timeout: LockTimeoutOption = None,
    statement_timeout: StatementTimeoutOption = None,
    retries: RetriesOption = None,
    targets: TargetsOption = None,
    keep_going: Annotated[
        bool,
        typer.Option("--keep-going", help="With --targets: go on after a target that fails."),
    ] = False,
) -> int:
    """Upgrade to a later revision (alembic upgrade), after a preflight, under a lock."""
    if targets is not None:
        if sql or tag or not preflight:
            raise MigdoctorError("--targets upgrades with the preflight, without --sql or --tag.")
        return upgrade_fleet(
            options, targets, revision, keep_going, lock_timeout, statement_timeout, retries
        )
    return _guarded(
        options, "upgrade", revision, sql, tag, preflight, lock_timeout, statement_timeout, retries
    )


@app.command(context_settings=RELATIVE_REVISION)
@command_options()
def downgrade(
    options: GlobalOptions,
    revision: Annotated[str, typer.Argument(help="Target revision (an id, base, or -N).")],
    sql: SqlOption = False,
    tag: TagOption = None,
    preflight: PreflightOption = True,
    lock_timeout: LockTimeoutOption = None,
    statement_timeout: StatementTimeoutOption = None,
    retries: RetriesOption = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Drop also what no migration created: tables and columns of revisions "
            "migdoctor recorded as applied without running them (a stamp).",
        ),
    ] = False,
) -> int:
    """Revert to a previous revision (alembic downgrade), after a preflight, under a lock."""
    return _guarded(
        options,
        "downgrade",
        revision,
        sql,
        tag,
        preflight,
        lock_timeout,
        statement_timeout,
        retries,
        force,
    )


def _guarded(
    options: GlobalOptions,
    direction: str,
    revision: str,
    sql: bool,
    tag: str | None,
    preflight: bool,
    lock_timeout: float | None,
    statement_timeout: float | None = None,
    retries: int | None = None,
    force: bool = False,
) -> int:
    from migdoctor.commands.guarded import migrate
    from migdoctor.render import stdout_console
    from migdoctor.render.interaction import TerminalInteraction

    return migrate(
        options.config_options(lock_timeout, statement_timeout, retries),
        direction,
        revision,
        invocation=options.invocation(),
        sql=sql,
        tag=tag,
        preflight=preflight,
        lock_timeout=lock_timeout,  # None: lock_timeout in [tool.migdoctor], else the default
        ui=TerminalInteraction(stdout_console(), options.invocation()),
        force=force,
    )


@app.command()
@command_options()
def stamp(
    options: GlobalOptions,
    revisions: Annotated[list[str], typer.Argument(help="One or more revisions, or heads.")],
    sql: Annotated[bool, typer.Option("--sql", help="Offline mode.")] = False,
    tag: TagOption = None,
    purge: Annotated[
        bool, typer.Option("--purge", help="Empty the version table before stamping.")
    ] = False,
    lock_timeout: LockTimeoutOption = None,
) -> int:
    """Set the version table to a revision without running migrations (alembic stamp)."""
    from migdoctor.commands.guarded import stamp as guarded_stamp
    from migdoctor.render import stdout_console
    from migdoctor.render.interaction import TerminalInteraction

    return guarded_stamp(
        options.config_options(lock_timeout),
        revisions,
        sql=sql,
        tag=tag,
        purge=purge,
        lock_timeout=lock_timeout,  # None: lock_timeout in [tool.migdoctor], else the default
        ui=TerminalInteraction(stdout_console(), options.invocation()),
    )


@app.command()
@command_options("config", "name", "x", "debug")
def heads(
    options: GlobalOptions,
    verbose: VerboseOption = False,
    resolve_dependencies: Annotated[
        bool, typer.Option("--resolve-dependencies", help="Treat dependencies as down revisions.")
    ] = False,
) -> int:
    """Show the head revision(s) of the scripts (alembic heads)."""
    from migdoctor.commands.passthrough import show_heads

    return show_heads(options.config_options(), verbose, resolve_dependencies)


@app.command()
@command_options()
def history(
    options: GlobalOptions,
    rev_range: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("-r", "--rev-range", metavar="[START]:[END]", help="Revision range."),
    ] = None,
    verbose: VerboseOption = False,
    indicate_current: Annotated[
        bool, typer.Option("-i", "--indicate-current", help="Mark the current revision.")
    ] = False,
) -> int:
    """List revisions in history order, newest first (alembic history)."""
    from migdoctor.commands.passthrough import show_history

    return show_history(options.config_options(), rev_range, verbose, indicate_current)


@app.command()
@command_options()
def revision(
    options: GlobalOptions,
    message: Annotated[
        str | None, typer.Option("-m", "--message", help="The revision's message.")
    ] = None,
    autogenerate: Annotated[
        bool,
        typer.Option(
            "--autogenerate", help="Fill in operations by comparing models with the database."
        ),
    ] = False,
    sql: Annotated[bool, typer.Option("--sql", help="Offline mode.")] = False,
    head: Annotated[
        str | None, typer.Option("--head", help="Head or branch@head to build on.")
    ] = None,
    splice: Annotated[
        bool, typer.Option("--splice", help="Allow a non-head revision as the head.")
    ] = False,
    branch_label: Annotated[
        str | None, typer.Option("--branch-label", help="Branch label for the new revision.")
    ] = None,
    version_path: Annotated[
        str | None, typer.Option("--version-path", help="Version location for the file.")
    ] = None,
    rev_id: Annotated[
        str | None, typer.Option("--rev-id", help="Revision id instead of a generated one.")
    ] = None,
    depends_on: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--depends-on", help="Revisions this one depends on.", show_default=False),
    ] = None,
) -> int:
    """Create a new revision file (alembic revision)."""
    return _alembic(
        options,
        "revision",
        message=message,
        autogenerate=autogenerate,
        sql=sql,
        head=head or "head",
        splice=splice,
        branch_label=branch_label,
        version_path=version_path,
        rev_id=rev_id,
        depends_on=depends_on or None,
    )


@app.command()
@command_options("config", "name", "x", "debug")
def merge(
    options: GlobalOptions,
    revisions: Annotated[list[str], typer.Argument(help="Revisions to merge, or heads.")],
    message: Annotated[
        str | None, typer.Option("-m", "--message", help="The merge revision's message.")
    ] = None,
    branch_label: Annotated[
        str | None, typer.Option("--branch-label", help="Branch label for the merge.")
    ] = None,
    rev_id: Annotated[
        str | None, typer.Option("--rev-id", help="Revision id instead of a generated one.")
    ] = None,
) -> int:
    """Merge two or more revisions into one (alembic merge)."""
    return _alembic(
        options, "merge", revisions, message=message, branch_label=branch_label, rev_id=rev_id
    )


@app.command()
@command_options("config", "debug")
def init(
    options: GlobalOptions,
    directory: Annotated[str, typer.Argument(help="Folder for the new migration environment.")],
    template: Annotated[
        str, typer.Option("-t", "--template", help="alembic template to use.")
    ] = "generic",
    package: Annotated[bool, typer.Option("--package", help="Write __init__.py files.")] = False,
) -> int:
    """Create a new migration environment (alembic init)."""
    from migdoctor.commands.passthrough import run_init

    return run_init(options.config, directory, template=template, package=package)


def _alembic(options: GlobalOptions, command: str, *args: object, **kwargs: Any) -> int:
    from migdoctor.commands.passthrough import run_alembic_command

    return run_alembic_command(options.config_options(), command, *args, **kwargs)
