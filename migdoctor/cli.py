"""The command line: thin typer commands that parse, call one function, and render.

Nothing heavy is imported at module level, so ``migdoctor --help`` starts without SQLAlchemy or
alembic; each command imports what it needs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from migdoctor import __version__
from migdoctor.errors import CannotCheck

if TYPE_CHECKING:
    from migdoctor.project.config import ConfigOptions

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

# options accepted before the subcommand (as alembic takes them) and after it
ConfigOption = Annotated[
    Optional[list[str]],  # noqa: UP045 - typer reads the annotation at runtime
    typer.Option(
        "-c",
        "--config",
        metavar="PATH",
        help="Alembic config file (alembic.ini or pyproject.toml; may be given twice). "
        "Defaults to $ALEMBIC_CONFIG, then ./alembic.ini and ./pyproject.toml.",
        show_default=False,
    ),
]
NameOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "-n",
        "--name",
        metavar="SECTION",
        help="Section of the ini file [default: alembic].",
        show_default=False,
    ),
]
XOption = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option(
        "-x",
        metavar="KEY=VALUE",
        help="Passed to env.py (context.get_x_argument()).",
        show_default=False,
    ),
]
UrlOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--url",
        metavar="URL",
        help="Database URL to use instead of the configured one.",
        show_default=False,
    ),
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks of failures.")]


@dataclass(frozen=True)
class GlobalOptions:
    config: tuple[str, ...] = ()
    name: str | None = None
    x_arguments: tuple[str, ...] = ()
    url: str | None = None
    debug: bool = False

    def merged(
        self,
        config: list[str] | None,
        name: str | None,
        x: list[str] | None,
        url: str | None,
        debug: bool,
    ) -> GlobalOptions:
        return replace(
            self,
            config=tuple(config) if config else self.config,
            name=name or self.name,
            x_arguments=self.x_arguments + tuple(x or ()),
            url=url or self.url,
            debug=debug or self.debug,
        )

    def config_options(self, lock_timeout: float | None = None) -> ConfigOptions:
        """``lock_timeout``: ``--lock-timeout`` when given, which also bounds every read."""
        from migdoctor.project.config import ConfigOptions

        return ConfigOptions(
            config=self.config,
            name=self.name or "alembic",
            x_arguments=self.x_arguments,
            url=self.url,
            lock_timeout=lock_timeout,
        )

    def invocation(self) -> tuple[str, ...]:
        """``migdoctor`` with the options this run was given, to write copy-paste commands."""
        words = ["migdoctor"]
        for path in self.config:
            words += ["-c", _quote(path)]
        if self.name:
            words += ["-n", _quote(self.name)]
        for argument in self.x_arguments:
            words += ["-x", _quote(argument)]
        if self.url:
            from migdoctor.redact import redact

            words += ["--url", _quote(redact(self.url))]
        return tuple(words)


def _quote(word: str) -> str:
    import shlex

    return shlex.quote(word)


def _options(
    ctx: typer.Context,
    config: list[str] | None = None,
    name: str | None = None,
    x: list[str] | None = None,
    url: str | None = None,
    debug: bool = False,
) -> GlobalOptions:
    base = ctx.obj if isinstance(ctx.obj, GlobalOptions) else GlobalOptions()
    return base.merged(config, name, x, url, debug)


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
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    ctx.obj = GlobalOptions().merged(config, name, x, url, debug)


def _seconds(value: float | None) -> float | None:
    """A number of seconds to wait: 0 or more (0: for ever)."""
    import math

    if value is not None and not (math.isfinite(value) and value >= 0):
        raise typer.BadParameter(f"{value:g} is not a number of seconds (0 or more; 0: for ever).")
    return value


LockTimeoutOption = Annotated[
    Optional[float],  # noqa: UP045
    typer.Option(
        "--lock-timeout",
        metavar="SECONDS",
        callback=_seconds,
        help="How long to wait for a lock: each read gives up after SECONDS (default 5), "
        "the migration lock and the run's statements after SECONDS (default 60); 0: for ever.",
        show_default=False,
    ),
]
ReadTimeoutOption = Annotated[
    Optional[float],  # noqa: UP045
    typer.Option(
        "--lock-timeout",
        metavar="SECONDS",
        callback=_seconds,
        help="How long each read may wait for a lock before giving up, naming the session in "
        "the way (default 5; 0: for ever).",
        show_default=False,
    ),
]


def _writer_timeout(given: float | None) -> float:
    """How long a writer waits for the migration lock and table locks."""
    from migdoctor.repair.apply import DEFAULT_LOCK_TIMEOUT

    return DEFAULT_LOCK_TIMEOUT if given is None else given


@contextmanager
def user_errors(options: GlobalOptions) -> Iterator[None]:
    """Errors a user can cause end in one line on stderr and exit code 2, never a traceback."""
    from migdoctor.redact import redact, redact_foreign, redact_traceback

    try:
        yield
    except CannotCheck as error:
        if options.debug:
            typer.echo(redact_traceback(error), err=True, nl=False)
        typer.echo(redact(f"migdoctor: {error.message}"), err=True)
        if error.hint:
            typer.echo(redact(f"  {error.hint}"), err=True)
        raise typer.Exit(error.exit_code) from None
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except OSError as error:  # a file or folder migdoctor could not read or write
        from migdoctor.errors import describe_os_error

        if options.debug:
            typer.echo(redact_traceback(error), err=True, nl=False)
        import errno

        writing = error.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC)
        verb = "cannot write" if writing or error.errno == errno.EDQUOT else "cannot use"
        typer.echo(
            redact_foreign(
                f"migdoctor: {verb} {error.filename or 'a file'}: {describe_os_error(error)}."
            ),
            err=True,
        )
        typer.echo("  Check that folder's permissions and the free disk space.", err=True)
        raise typer.Exit(2) from None
    except Exception as error:  # noqa: BLE001 - a bug of ours: still one line (or --debug)
        if options.debug:
            typer.echo(redact_traceback(error), err=True, nl=False)
            raise typer.Exit(2) from None
        first = str(error).strip().splitlines()
        text = f"{type(error).__name__}: {first[0]}" if first else type(error).__name__
        typer.echo(redact_foreign(f"migdoctor: unexpected error: {text}"), err=True)
        typer.echo("  Run again with --debug to see the traceback, and please report it.", err=True)
        raise typer.Exit(2) from None


# ---------------------------------------------------------------------------------------------
# check, explain, list-checks, demo


@app.command()
def check(
    ctx: typer.Context,
    output_format: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="text (for people) or json.")
    ] = "text",
    offline: Annotated[
        bool, typer.Option("--offline", help="Check the scripts only; no database.")
    ] = False,
    select: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--select", metavar="SLUG", help="Run only these checks.", show_default=False),
    ] = None,
    ignore: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--ignore", metavar="SLUG", help="Skip these checks.", show_default=False),
    ] = None,
    lock_timeout: ReadTimeoutOption = None,
    config: ConfigOption = None,
    name: NameOption = None,
    x: XOption = None,
    url: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Diagnose the project and its database.

    Exit 0: healthy, 1: problems found, 2: could not check.
    """
    options = _options(ctx, config, name, x, url, debug)
    with user_errors(options):
        from contextlib import nullcontext

        from migdoctor.commands.check import diagnose
        from migdoctor.render import FORMATS, stdout_console, stdout_for_report_only

        if output_format not in FORMATS:
            raise CannotCheck(f"Unknown format {output_format!r}: choose text or json.")
        _known_slugs(select or [])
        _known_slugs(ignore or [])
        with stdout_for_report_only() if output_format == "json" else nullcontext():
            report = diagnose(
                options.config_options(lock_timeout),
                offline=offline,
                select=select or (),
                ignore=ignore or (),
                invocation=options.invocation(),
            )
        if output_format == "json":
            from migdoctor.render.json import render_json

            typer.echo(render_json(report))
        else:
            from migdoctor.render.text import render_text

            render_text(report, stdout_console())
    raise typer.Exit(report.exit_code)


def _known_slugs(slugs: list[str]) -> None:
    from migdoctor.checks import known_slugs

    unknown = [slug for slug in slugs if slug not in known_slugs()]
    if unknown:
        raise CannotCheck(
            f"Unknown check {', '.join(unknown)}.", hint="migdoctor list-checks shows them all."
        )


@app.command()
def explain(
    slug: Annotated[str, typer.Argument(metavar="SLUG", help="A check's slug or code.")],
) -> None:
    """Explain a check: what it detects, why it matters, how to fix it."""
    from migdoctor.checks import all_checks
    from migdoctor.render import stdout_console
    from migdoctor.render.docs import render_explanation

    found = next((c for c in all_checks() if slug in (c.slug, c.code)), None)
    if found is None:
        typer.echo(f"migdoctor: no check named {slug!r}.", err=True)
        typer.echo("  migdoctor list-checks shows them all.", err=True)
        raise typer.Exit(2)
    render_explanation(found, stdout_console())


@app.command("list-checks")
def list_checks() -> None:
    """List every check with its code and severity."""
    from migdoctor.checks import all_checks
    from migdoctor.render import stdout_console
    from migdoctor.render.docs import render_check_list

    render_check_list(all_checks(), stdout_console())


@app.command()
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", metavar="PATH", help="Where to write the sandbox project.")
    ] = Path("migdoctor-demo"),
    scenario: Annotated[
        str,
        typer.Option(
            "--scenario",
            metavar="NAME",
            help="The broken state: table-exists, unknown-revision or stale-current.",
        ),
    ] = "table-exists",
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing demo folder.")
    ] = False,
) -> None:
    """Write a sandbox project with a SQLite database in a broken state, to try migdoctor on."""
    with user_errors(GlobalOptions()):
        from migdoctor.commands.demo import write_demo

        steps = write_demo(directory, scenario, force=force)
        typer.echo(steps)


# ---------------------------------------------------------------------------------------------
# fix and undo


@app.command()
def fix(
    ctx: typer.Context,
    fix_id: Annotated[
        Optional[str],  # noqa: UP045
        typer.Argument(
            metavar="FIX-ID",
            help="upgrade, stamp, clear-version-table, neuter-upgrade, merge-heads, "
            "delete-ancestor-rows, complete-revision, autogenerate-revision or end-session. "
            "Without it: show the plan of every fix, change nothing.",
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
    config: ConfigOption = None,
    name: NameOption = None,
    x: XOption = None,
    url: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Repair what check found: show the plan, ask, apply, keep a way back."""
    options = _options(ctx, config, name, x, url, debug)
    with user_errors(options):
        from migdoctor.commands import fix as repair
        from migdoctor.render import stdout_console
        from migdoctor.render.interaction import TerminalInteraction
        from migdoctor.repair.plan import FixRequest

        ui = TerminalInteraction(stdout_console(), options.invocation())
        config_options, invocation = options.config_options(lock_timeout), options.invocation()
        waits = _writer_timeout(lock_timeout)
        if interactive:
            code = repair.interactive(config_options, invocation, lock_timeout=waits, ui=ui)
        elif fix_id is None:
            code = repair.show_plans(config_options, invocation, ui)
        else:
            code = repair.fix_one(
                config_options,
                invocation,
                FixRequest(fix_id, revision, force, session),
                yes=yes,
                dry_run=dry_run,
                lock_timeout=waits,
                ui=ui,
            )
    raise typer.Exit(code)


@app.command()
def undo(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Undo without asking.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what undo would do.")] = False,
    list_entries: Annotated[
        bool, typer.Option("--list", help="Show the journal of fixes.")
    ] = False,
    lock_timeout: LockTimeoutOption = None,
    config: ConfigOption = None,
    name: NameOption = None,
    x: XOption = None,
    url: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Revert the last applied fix, once it is verified that nothing changed since."""
    options = _options(ctx, config, name, x, url, debug)
    with user_errors(options):
        from migdoctor.commands import fix as repair
        from migdoctor.render import stdout_console
        from migdoctor.render.interaction import TerminalInteraction

        code = repair.undo(
            options.config_options(lock_timeout),
            options.invocation(),
            yes=yes,
            dry_run=dry_run,
            list_entries=list_entries,
            lock_timeout=_writer_timeout(lock_timeout),
            ui=TerminalInteraction(stdout_console(), options.invocation()),
        )
    raise typer.Exit(code)


# ---------------------------------------------------------------------------------------------
# the migrate commands, argument-compatible with alembic's


@app.command()
def current(
    ctx: typer.Context,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Use more verbose output.")
    ] = False,
    check_heads: Annotated[
        bool,
        typer.Option("--check-heads", help="Exit 1 unless the database is on all head revisions."),
    ] = False,
    config: ConfigOption = None,
    name: NameOption = None,
    x: XOption = None,
    url: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Show the database's current revision(s); an unknown id is shown, never a crash."""
    options = _options(ctx, config, name, x, url, debug)
    with user_errors(options):
        from migdoctor.commands.passthrough import show_current

        code = show_current(options.config_options(), verbose=verbose, check_heads=check_heads)
    raise typer.Exit(code)


# alembic accepts relative targets such as "-1" as the revision argument
RELATIVE_REVISION = {"ignore_unknown_options": True}


PreflightOption = Annotated[
    bool,
    typer.Option(
        "--preflight/--no-preflight",
        help="Refuse (changing nothing) when the checks predict the run would fail.",
    ),
]


@app.command(context_settings=RELATIVE_REVISION)
def upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision [default: heads].")] = "heads",
    sql: Annotated[
        bool, typer.Option("--sql", help="Print the SQL instead of running it (offline).")
    ] = False,
    tag: Annotated[Optional[str], typer.Option("--tag", help="Passed to env.py.")] = None,  # noqa: UP045
    preflight: PreflightOption = True,
    lock_timeout: LockTimeoutOption = None,
    config: ConfigOption = None,
    name: NameOption = None,
    x: XOption = None,
    url: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Upgrade to a later revision (alembic upgrade), after a preflight, under a lock."""
    options = _options(ctx, config, name, x, url, debug)
    _guarded(options, "upgrade", revision, sql, tag, preflight, lock_timeout)


@app.command(context_settings=RELATIVE_REVISION)
def downgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision (an id, base, or -N).")],
    sql: Annotated[
        bool, typer.Option("--sql", help="Print the SQL instead of running it (offline).")
    ] = False,
    tag: Annotated[Optional[str], typer.Option("--tag", help="Passed to env.py.")] = None,  # noqa: UP045
    preflight: PreflightOption = True,
    lock_timeout: LockTimeoutOption = None,
    config: ConfigOption = None,
    name: NameOption = None,
    x: XOption = None,
    url: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Revert to a previous revision (alembic downgrade), after a preflight, under a lock."""
    options = _options(ctx, config, name, x, url, debug)
    _guarded(options, "downgrade", revision, sql, tag, preflight, lock_timeout)


def _guarded(
    options: GlobalOptions,
    direction: str,
    revision: str,
    sql: bool,
    tag: str | None,
    preflight: bool,
    lock_timeout: float | None,
) -> None:
    with user_errors(options):
        from migdoctor.commands.guarded import migrate
        from migdoctor.render import stdout_console
        from migdoctor.render.interaction import TerminalInteraction

        code = migrate(
            options.config_options(lock_timeout),
            direction,
            revision,
            invocation=options.invocation(),
            sql=sql,
            tag=tag,
            preflight=preflight,
            lock_timeout=_writer_timeout(lock_timeout),
            ui=TerminalInteraction(stdout_console(), options.invocation()),
        )
    raise typer.Exit(code)


@app.command()
def heads(
    ctx: typer.Context,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Use more verbose output.")
    ] = False,
    resolve_dependencies: Annotated[
        bool, typer.Option("--resolve-dependencies", help="Treat dependencies as down revisions.")
    ] = False,
    config: ConfigOption = None,
    name: NameOption = None,
    x: XOption = None,
    debug: DebugOption = False,
) -> None:
    """Show the head revision(s) of the scripts (alembic heads)."""
    options = _options(ctx, config, name, x, None, debug)
    with user_errors(options):
        from migdoctor.commands.passthrough import show_heads

        code = show_heads(options.config_options(), verbose, resolve_dependencies)
    raise typer.Exit(code)


@app.command()
def history(
    ctx: typer.Context,
    rev_range: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("-r", "--rev-range", metavar="[START]:[END]", help="Revision range."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Use more verbose output.")
    ] = False,
    indicate_current: Annotated[
        bool, typer.Option("-i", "--indicate-current", help="Mark the current revision.")
    ] = False,
    config: ConfigOption = None,
    name: NameOption = None,
    x: XOption = None,
    url: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """List revisions in history order, newest first (alembic history)."""
    options = _options(ctx, config, name, x, url, debug)
    with user_errors(options):
        from migdoctor.commands.passthrough import show_history

        code = show_history(options.config_options(), rev_range, verbose, indicate_current)
    raise typer.Exit(code)


@app.command()
def revision(
    ctx: typer.Context,
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
    config: ConfigOption = None,
    name: NameOption = None,
    x: XOption = None,
    url: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Create a new revision file (alembic revision)."""
    options = _options(ctx, config, name, x, url, debug)
    _alembic(
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
def stamp(
    ctx: typer.Context,
    revisions: Annotated[list[str], typer.Argument(help="One or more revisions, or heads.")],
    sql: Annotated[bool, typer.Option("--sql", help="Offline mode.")] = False,
    tag: Annotated[Optional[str], typer.Option("--tag", help="Passed to env.py.")] = None,  # noqa: UP045
    purge: Annotated[
        bool, typer.Option("--purge", help="Empty the version table before stamping.")
    ] = False,
    lock_timeout: LockTimeoutOption = None,
    config: ConfigOption = None,
    name: NameOption = None,
    x: XOption = None,
    url: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Set the version table to a revision without running migrations (alembic stamp)."""
    options = _options(ctx, config, name, x, url, debug)
    with user_errors(options):
        from migdoctor.commands import guarded as safe_migrate
        from migdoctor.render import stdout_console
        from migdoctor.render.interaction import TerminalInteraction

        code = safe_migrate.stamp(
            options.config_options(lock_timeout),
            revisions,
            sql=sql,
            tag=tag,
            purge=purge,
            lock_timeout=_writer_timeout(lock_timeout),
            ui=TerminalInteraction(stdout_console(), options.invocation()),
        )
    raise typer.Exit(code)


@app.command()
def merge(
    ctx: typer.Context,
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
    config: ConfigOption = None,
    name: NameOption = None,
    x: XOption = None,
    debug: DebugOption = False,
) -> None:
    """Merge two or more revisions into one (alembic merge)."""
    options = _options(ctx, config, name, x, None, debug)
    _alembic(options, "merge", revisions, message=message, branch_label=branch_label, rev_id=rev_id)


@app.command()
def init(
    ctx: typer.Context,
    directory: Annotated[str, typer.Argument(help="Folder for the new migration environment.")],
    template: Annotated[
        str, typer.Option("-t", "--template", help="alembic template to use.")
    ] = "generic",
    package: Annotated[bool, typer.Option("--package", help="Write __init__.py files.")] = False,
    config: ConfigOption = None,
    debug: DebugOption = False,
) -> None:
    """Create a new migration environment (alembic init)."""
    options = _options(ctx, config, None, None, None, debug)
    with user_errors(options):
        from migdoctor.commands.passthrough import run_init

        code = run_init(options.config, directory, template=template, package=package)
    raise typer.Exit(code)


def _alembic(options: GlobalOptions, command: str, *args: object, **kwargs: Any) -> None:
    with user_errors(options):
        from migdoctor.commands.passthrough import run_alembic_command

        code = run_alembic_command(options.config_options(), command, *args, **kwargs)
    raise typer.Exit(code)


def main() -> None:
    """Console entry point."""
    import signal

    from migdoctor.errors import Terminated

    def terminated(signum: int, frame: object) -> None:
        # as Ctrl-C: a run says what it left instead of dying without a word
        raise Terminated

    signal.signal(signal.SIGTERM, terminated)
    try:
        app(prog_name="migdoctor")
    except Terminated:
        typer.echo("migdoctor: terminated (SIGTERM).", err=True)
        sys.exit(143)
    except KeyboardInterrupt:
        typer.echo("migdoctor: interrupted.", err=True)
        sys.exit(130)
