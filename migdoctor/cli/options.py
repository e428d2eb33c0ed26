"""The options every command shares, declared once, and the one way a command ends.

``-c``, ``-n``, ``-x``, ``--url`` and ``--debug`` are accepted before the subcommand (as alembic
takes them) and after it; :func:`command_options` adds them to a command and hands it the merged
:class:`GlobalOptions`. A command returns its exit code; errors a user can cause end in one line
on stderr, never a traceback (:func:`user_errors`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from migdoctor.errors import EXIT_CANNOT, MigdoctorError

if TYPE_CHECKING:
    from migdoctor.project.config import ConfigOptions

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
NoLedgerOption = Annotated[
    bool,
    typer.Option(
        "--no-ledger",
        help="Record nothing in migdoctor's ledger table (migdoctor_ledger) this run.",
    ),
]

# the shared options, by parameter name, in the order help lists them
SHARED_OPTIONS = {
    "config": (ConfigOption, None),
    "name": (NameOption, None),
    "x": (XOption, None),
    "url": (UrlOption, None),
    "debug": (DebugOption, False),
    "no_ledger": (NoLedgerOption, False),
}


def seconds_option(value: float | None) -> float | None:
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
        callback=seconds_option,
        help="How long to wait for a lock: each read, the migration lock and the run's "
        "statements give up after SECONDS (default: lock_timeout in [tool.migdoctor], else 5 "
        "for a read and 60 for the rest); 0: for ever.",
        show_default=False,
    ),
]
ReadTimeoutOption = Annotated[
    Optional[float],  # noqa: UP045
    typer.Option(
        "--lock-timeout",
        metavar="SECONDS",
        callback=seconds_option,
        help="How long each read may wait for a lock before giving up, naming the session in "
        "the way (default 5; 0: for ever).",
        show_default=False,
    ),
]


@dataclass(frozen=True)
class GlobalOptions:
    config: tuple[str, ...] = ()
    name: str | None = None
    x_arguments: tuple[str, ...] = ()
    url: str | None = None
    debug: bool = False
    no_ledger: bool = False

    def merged(
        self,
        config: list[str] | None = None,
        name: str | None = None,
        x: list[str] | None = None,
        url: str | None = None,
        debug: bool = False,
        no_ledger: bool = False,
    ) -> GlobalOptions:
        return replace(
            self,
            config=tuple(config) if config else self.config,
            name=name or self.name,
            x_arguments=self.x_arguments + tuple(x or ()),
            url=url or self.url,
            debug=debug or self.debug,
            no_ledger=no_ledger or self.no_ledger,
        )

    def config_options(
        self,
        lock_timeout: float | None = None,
        statement_timeout: float | None = None,
        retries: int | None = None,
    ) -> ConfigOptions:
        """``lock_timeout``: ``--lock-timeout`` when given, which also bounds every read;
        ``statement_timeout``, ``retries``: a writer's ``--statement-timeout`` and ``--retries``
        when given (None: the project's settings decide, ``commands.run_settings``)."""
        from migdoctor.project.config import ConfigOptions

        return ConfigOptions(
            config=self.config,
            name=self.name or "alembic",
            x_arguments=self.x_arguments,
            url=self.url,
            lock_timeout=lock_timeout,
            statement_timeout=statement_timeout,
            retries=retries,
            no_ledger=self.no_ledger,
        )

    def invocation(self) -> tuple[str, ...]:
        """``migdoctor`` with the options this run was given, to write copy-paste commands."""
        import shlex

        from migdoctor.redact import redact

        words = ["migdoctor"]
        for path in self.config:
            words += ["-c", shlex.quote(path)]
        if self.name:
            words += ["-n", shlex.quote(self.name)]
        for argument in self.x_arguments:
            words += ["-x", shlex.quote(argument)]
        if self.url:
            words += ["--url", shlex.quote(redact(self.url))]
        if self.no_ledger:
            words += ["--no-ledger"]
        return tuple(words)


def command_options(
    *shared: str,
) -> Callable[[Callable[..., int]], Callable[..., None]]:
    """Make a command of a function that takes ``options: GlobalOptions`` and returns an exit
    code: it gains the ``shared`` options (all of them when none is named), merged with those
    given before the subcommand, and runs inside :func:`user_errors`."""
    names = shared or tuple(SHARED_OPTIONS)

    def decorate(command: Callable[..., int]) -> Callable[..., None]:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "options"]
        added = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=SHARED_OPTIONS[name][0],
                default=SHARED_OPTIONS[name][1],
            )
            for name in names
        ]

        context = inspect.Parameter(
            "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
        )

        @functools.wraps(command)
        def run(ctx: typer.Context, *args: object, **kwargs: object) -> None:
            given = {name: kwargs.pop(name) for name in names}
            before = ctx.obj
            base = before if isinstance(before, GlobalOptions) else GlobalOptions()
            options = base.merged(**given)  # type: ignore[arg-type]
            with user_errors(options):
                code = command(*args, options=options, **kwargs)
            raise typer.Exit(code)

        run.__signature__ = signature.replace(parameters=[context, *own, *added])  # type: ignore[attr-defined]
        return run

    return decorate


@contextmanager
def user_errors(options: GlobalOptions) -> Iterator[None]:
    """Errors a user can cause end in one line on stderr and exit code 2, never a traceback."""
    from migdoctor.redact import redact, redact_foreign, redact_traceback

    try:
        yield
    except MigdoctorError as error:
        if options.debug:
            typer.echo(redact_traceback(error), err=True, nl=False)
        typer.echo(redact(f"migdoctor: {error.message}"), err=True)
        if error.hint:
            typer.echo(redact(f"  {error.hint}"), err=True)
        raise typer.Exit(error.exit_code) from None
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except OSError as error:  # a file or folder migdoctor could not read or write
        import errno

        from migdoctor.errors import describe_os_error

        if options.debug:
            typer.echo(redact_traceback(error), err=True, nl=False)
        writing = error.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC)
        verb = "cannot write" if writing or error.errno == errno.EDQUOT else "cannot use"
        typer.echo(
            redact_foreign(
                f"migdoctor: {verb} {error.filename or 'a file'}: {describe_os_error(error)}."
            ),
            err=True,
        )
        typer.echo("  Check that folder's permissions and the free disk space.", err=True)
        raise typer.Exit(EXIT_CANNOT) from None
    except Exception as error:  # noqa: BLE001 - a bug of ours: still one line (or --debug)
        if options.debug:
            typer.echo(redact_traceback(error), err=True, nl=False)
            raise typer.Exit(EXIT_CANNOT) from None
        from migdoctor.errors import describe_exception

        unexpected = describe_exception(error)
        typer.echo(redact_foreign(f"migdoctor: unexpected error: {unexpected}"), err=True)
        typer.echo("  Run again with --debug to see the traceback, and please report it.", err=True)
        raise typer.Exit(EXIT_CANNOT) from None
