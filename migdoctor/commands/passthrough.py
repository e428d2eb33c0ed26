"""The migrate commands: alembic's own ``alembic.command`` functions, run with the project's
configuration, plus a ``current`` that shows an unknown revision instead of crashing, and
``heads`` and ``history`` printed from migdoctor's revision graph, word for word as alembic
prints them, without alembic's cost of importing every revision file."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from migdoctor.database.environment import call_with_application
from migdoctor.database.failures import connection_targets, explain_failure
from migdoctor.database.ledger import ledger_hidden_from_env_py
from migdoctor.database.version_table import read_version_state
from migdoctor.errors import EXIT_FAILED, EXIT_OK, MigdoctorError
from migdoctor.facts.model import ProjectFacts
from migdoctor.gathering.gather import load_project
from migdoctor.project.config import ConfigOptions
from migdoctor.project.listing import RevisionListing, history_revisions
from migdoctor.project.loading import stops_the_process
from migdoctor.redact import redact, redact_foreign

# alembic's messages for states migdoctor check diagnoses
KNOWN_WALLS = (
    "Target database is not up to date",
    "Can't locate revision identified by",
    "Multiple head revisions are present",
    "overlaps with other requested revisions",
)


def run_alembic_command(
    options: ConfigOptions,
    name: str,
    *args: Any,
    project: ProjectFacts | None = None,
    **kwargs: Any,
) -> int:
    """Run ``alembic.command.<name>``; alembic's own errors print as ``FAILED: …`` (exit 1).
    ``project``: the project when the caller has read it already."""
    from alembic import command
    from alembic.util import CommandError

    if project is None:
        project = load_project(options)
    from migdoctor.project.config import alembic_command_options

    _, positional, _ = alembic_command_options(name).get("cmd", (None, [], []))
    config = project.config.alembic_config(
        command=name, **dict(zip(positional, args, strict=False)), **kwargs
    )
    targets: list[str] = []
    hidden = (
        ledger_hidden_from_env_py(project.config.ledger)
        if name in ("revision", "check") and project.config.ledger.enabled
        else nullcontext()
    )
    try:
        with connection_targets(targets), hidden:
            call_with_application(
                project.config.script_location / "env.py",
                lambda: getattr(command, name)(config, *args, **kwargs),
            )
    except CommandError as error:
        print(redact(f"FAILED: {error}"), file=sys.stderr)
        if any(wall in str(error) for wall in KNOWN_WALLS):
            print("migdoctor check names what is wrong and how to repair it.", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # reported in one line: exit 1 or 2
        from sqlalchemy import exc

        env_py = project.config.script_location / "env.py"
        if isinstance(error, exc.DBAPIError) and error.statement is not None:
            # the database refused a statement of a migration: the command failed
            message = str(error.orig).strip().splitlines()
            print(
                redact_foreign(f"FAILED: {name} stopped: {message[0] if message else error}"),
                file=sys.stderr,
            )
            return EXIT_FAILED
        raise explain_failure(error, env_py, project, targets, action=name) from error
    return EXIT_OK


def run_init(config_files: tuple[str, ...], directory: str, template: str, package: bool) -> int:
    """``alembic init``: the config need not exist yet, it is being created."""
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    ini = next((c for c in config_files if Path(c).name != "pyproject.toml"), "alembic.ini")
    toml = next((c for c in config_files if Path(c).name == "pyproject.toml"), "pyproject.toml")
    try:
        command.init(
            Config(file_=ini, toml_file=toml), directory, template=template, package=package
        )
    except CommandError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def show_current(options: ConfigOptions, verbose: bool = False, check_heads: bool = False) -> int:
    """Print the version table's revisions as ``alembic current`` does; unknown ones too."""
    project = load_project(options)
    state = read_version_state(project)
    graph = project.graph
    listing = RevisionListing(graph)
    lines = []
    if verbose:
        lines.append(redact(f"Current revision(s) for {state.url}:"))
    unknown = [row for row in state.rows if row not in graph]
    for row in state.rows:
        if row in graph:
            lines.append(listing.cmd_format(row, verbose))
        else:
            lines.append(f"{row} (unknown: no revision file defines it)")
    print_like_alembic(lines)
    if unknown:
        print(
            "migdoctor: alembic would fail here with \"Can't locate revision identified by "
            f"'{unknown[0]}'\"; migdoctor check explains why and how to repair it.",
            file=sys.stderr,
        )
    if check_heads and set(state.rows) != set(graph.heads):
        print("FAILED: Database is not on all head revisions", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def show_heads(options: ConfigOptions, verbose: bool, resolve_dependencies: bool) -> int:
    """``alembic heads``, printed from the revision graph; alembic itself prints when the
    scripts are in a state it warns or fails about, so that those words stay its own."""
    project = load_project(options)
    listing = RevisionListing(project.graph)
    if _would_hang_or_exit(project):
        return EXIT_FAILED
    if project.load_errors or not listing.exact:
        return run_alembic_command(
            options,
            "heads",
            project=project,
            verbose=verbose,
            resolve_dependencies=resolve_dependencies,
        )
    print_like_alembic(listing.heads_lines(verbose, resolve_dependencies))
    return EXIT_OK


def show_history(
    options: ConfigOptions, rev_range: str | None, verbose: bool, indicate_current: bool
) -> int:
    """``alembic history``, printed from the revision graph. alembic prints instead for a
    range bound this does not reproduce exactly (see ``history_revisions``), when
    ``revision_environment`` asks for env.py to run, and when the scripts are in a state it
    warns or fails about. ``-i`` reads the version table through env.py without writing."""
    project = load_project(options)
    listing = RevisionListing(project.graph)
    revisions = None
    if listing.exact and not project.load_errors and not project.config.revision_environment:
        revisions = history_revisions(project.graph, rev_range)
    current: tuple[str, ...] = ()
    if revisions is not None and indicate_current:
        try:
            current = read_version_state(project).rows
        except MigdoctorError:
            revisions = None  # alembic's own run says what went wrong, in its words
    if revisions is None:
        if _would_hang_or_exit(project):
            return EXIT_FAILED
        return run_alembic_command(
            options,
            "history",
            project=project,
            rev_range=rev_range,
            verbose=verbose,
            indicate_current=indicate_current,
        )
    print_like_alembic(listing.history_lines(revisions, verbose, current))
    return EXIT_OK


def _would_hang_or_exit(project: ProjectFacts) -> bool:
    """Whether a version file hangs or ends the process when imported: then alembic, which
    would print instead of migdoctor, is not run (it would hang or stop without a word), and
    the file is named."""
    fatal = [error for error in project.load_errors if stops_the_process(error)]
    for error in fatal:
        print(f"FAILED: {error.location}: {error.message}", file=sys.stderr)
    return bool(fatal)


def print_like_alembic(lines: Iterable[str]) -> None:
    """Each entry and a newline on stdout, as ``Config.print_stdout`` writes them: characters
    the stream's encoding lacks become '?', and a closed pipe ends the output quietly."""
    stream = sys.stdout
    encoding = getattr(stream, "encoding", None) or "ascii"
    text = "".join(f"{line}\n" for line in lines).encode(encoding, "replace").decode(encoding)
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        # nobody reads the rest; keep Python from complaining about it at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
