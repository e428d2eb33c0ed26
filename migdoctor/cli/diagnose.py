"""``check``, ``explain``, ``list-checks``, ``list-fixes`` and ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from migdoctor.cli.app import app
from migdoctor.cli.fleet import JobsOption, TargetsOption, check_fleet
from migdoctor.cli.options import GlobalOptions, ReadTimeoutOption, command_options
from migdoctor.errors import EXIT_OK, MigdoctorError


@app.command()
@command_options()
def check(
    options: GlobalOptions,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="text (for people), json, sarif (code scanning) or github (annotations).",
        ),
    ] = "text",
    json_output: Annotated[
        bool,
        # what many users type (gh, npm, kubectl have it); typer answered "Possible options:
        # --jobs"
        typer.Option("--json", help="The same as --format json.", show_default=False),
    ] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Check the scripts only; no database.")
    ] = False,
    select: Annotated[
        Optional[list[str]],  # noqa: UP045 - typer reads the annotation at runtime
        typer.Option("--select", metavar="SLUG", help="Run only these checks.", show_default=False),
    ] = None,
    ignore: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--ignore", metavar="SLUG", help="Skip these checks.", show_default=False),
    ] = None,
    lock_timeout: ReadTimeoutOption = None,
    targets: TargetsOption = None,
    jobs: JobsOption = None,
) -> int:
    """Diagnose the project and its database.

    Exit 0: healthy, 1: problems found, 2: could not check (with --targets: the worst).
    """
    from contextlib import nullcontext

    from migdoctor.commands.check import diagnose
    from migdoctor.render import FORMATS, render_report, stdout_for_report_only

    if json_output:
        if output_format not in ("text", "json"):
            raise MigdoctorError(f"--json and --format {output_format} ask for two formats.")
        output_format = "json"
    if output_format not in FORMATS:
        raise MigdoctorError(
            f"Unknown format {output_format!r}: choose {', '.join(FORMATS[:-1])} or {FORMATS[-1]}."
        )
    _known_slugs(select or [])
    _known_slugs(ignore or [])
    if targets is not None:
        if offline:
            raise MigdoctorError("--targets checks databases: leave --offline out.")
        return check_fleet(
            options, targets, jobs, output_format, lock_timeout, select or [], ignore or []
        )
    try:
        with stdout_for_report_only() if output_format != "text" else nullcontext():
            report = diagnose(
                options.config_options(lock_timeout),
                offline=offline,
                select=select or (),
                ignore=ignore or (),
                invocation=options.invocation(),
            )
    except (typer.Exit, typer.Abort):
        raise
    except Exception as error:
        # a code-scanning upload or a workflow log still gets a document saying why
        _print_could_not_check(output_format, error)
        raise
    render_report(report, output_format)
    return report.exit_code


def _print_could_not_check(output_format: str, error: Exception) -> None:
    from migdoctor.errors import describe_exception
    from migdoctor.redact import redact_foreign

    if isinstance(error, MigdoctorError):
        message, hint = f"migdoctor: {error.message}", error.hint
    else:
        message = redact_foreign(f"migdoctor: unexpected error: {describe_exception(error)}")
        hint = "Run again with --debug to see the traceback, and please report it."
    if output_format == "sarif":
        from migdoctor.render.sarif import render_sarif_failure

        typer.echo(render_sarif_failure(message, hint))
    elif output_format == "github":
        from migdoctor.render.github import render_github_failure

        typer.echo(render_github_failure(message, hint))


def _known_slugs(slugs: list[str]) -> None:
    from migdoctor.checks import known_slugs

    unknown = [slug for slug in slugs if slug not in known_slugs()]
    if unknown:
        raise MigdoctorError(
            f"Unknown check {', '.join(unknown)}.", hint="migdoctor list-checks shows them all."
        )


@app.command()
@command_options("debug")
def explain(
    options: GlobalOptions,
    slug: Annotated[
        str, typer.Argument(metavar="NAME", help="A check's slug or code, or a fix's id.")
    ],
) -> int:
    """Explain a check (what it detects, why it matters, how to fix it) or a fix (what it does,
    its risk, how undo reverts it)."""
    from migdoctor.checks import all_checks
    from migdoctor.fixes import FIX_MODULES, fix_doc
    from migdoctor.render import stdout_console
    from migdoctor.render.docs import render_explanation, render_fix_explanation

    found = next((c for c in all_checks() if slug in (c.slug, c.code)), None)
    if found is not None:
        render_explanation(found, stdout_console())
    elif slug in FIX_MODULES:
        render_fix_explanation(fix_doc(slug), stdout_console())
    else:
        raise MigdoctorError(
            f"no check or fix named {slug!r}.",
            hint=f"Checks: {', '.join(c.slug for c in all_checks())}. "
            f"Fixes: {', '.join(FIX_MODULES)}.",
        )
    return EXIT_OK


@app.command("list-checks")
@command_options("debug")
def list_checks(options: GlobalOptions) -> int:
    """List every check with its code and severity."""
    from migdoctor.checks import all_checks
    from migdoctor.render import stdout_console
    from migdoctor.render.docs import render_check_list

    render_check_list(all_checks(), stdout_console())
    return EXIT_OK


@app.command("list-fixes")
@command_options("debug")
def list_fixes(options: GlobalOptions) -> int:
    """List every fix with its risk."""
    from migdoctor.fixes import all_fixes
    from migdoctor.render import stdout_console
    from migdoctor.render.docs import render_fix_list

    render_fix_list(all_fixes(), stdout_console())
    return EXIT_OK


@app.command()
@command_options("debug")
def demo(
    options: GlobalOptions,
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
) -> int:
    """Write a sandbox project with a SQLite database in a broken state, to try migdoctor on."""
    from migdoctor.commands.demo import write_demo

    typer.echo(write_demo(directory, scenario, force=force))
    return EXIT_OK
