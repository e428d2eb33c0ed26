"""The migrate commands: alembic's own ``alembic.command`` functions, run with the project's
configuration, plus a ``current`` that shows an unknown revision instead of crashing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from migdoctor.database.capture import RECORD_NONE, capture_database
from migdoctor.database.failures import connection_targets, explain_failure
from migdoctor.facts import ProjectFacts
from migdoctor.gather import load_project
from migdoctor.project.config import ConfigOptions
from migdoctor.project.graph import RevisionGraph
from migdoctor.redact import redact

EXIT_OK = 0
EXIT_FAILED = 1


def run_alembic_command(options: ConfigOptions, name: str, *args: Any, **kwargs: Any) -> int:
    """Run ``alembic.command.<name>``; alembic's own errors print as ``FAILED: …`` (exit 1)."""
    from alembic import command
    from alembic.util import CommandError

    project = load_project(options)
    config = project.config.alembic_config(**kwargs)
    targets: list[str] = []
    try:
        with connection_targets(targets):
            getattr(command, name)(config, *args, **kwargs)
    except CommandError as error:
        print(redact(f"FAILED: {error}"), file=sys.stderr)
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
                redact(f"FAILED: {name} stopped: {message[0] if message else error}"),
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
    database = capture_database(project, record=RECORD_NONE).database
    graph = project.graph
    if verbose:
        print(redact(f"Current revision(s) for {database.url}:"))
    unknown = [row for row in database.version_rows if row not in graph]
    for row in database.version_rows:
        if row in graph:
            print(log_entry(project, row) if verbose else head_only(graph, row))
        else:
            print(f"{row} (unknown: no revision file defines it)")
    if unknown:
        print(
            "migdoctor: alembic would fail here with \"Can't locate revision identified by "
            f"'{unknown[0]}'\"; migdoctor check explains why and how to repair it.",
            file=sys.stderr,
        )
    if check_heads and set(database.version_rows) != set(graph.heads):
        print("FAILED: Database is not on all head revisions", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def head_only(graph: RevisionGraph, revision: str) -> str:
    """alembic's ``Script._head_only`` with tree indicators."""
    text = revision
    if not graph.all_children[revision]:
        text += " (head)"
    elif not graph.children[revision]:
        text += " (effective head)"
    if len(graph.children[revision]) > 1:
        text += " (branchpoint)"
    if len(graph.down[revision]) > 1:
        text += " (mergepoint)"
    return text


def log_entry(project: ProjectFacts, revision: str) -> str:
    """alembic's ``Script.log_entry`` (``-v`` output)."""
    graph = project.graph
    script = graph.scripts[revision]
    flags = ""
    if not graph.children[revision]:
        flags += " (head)"
    if len(graph.children[revision]) > 1:
        flags += " (branchpoint)"
    if len(script.down_revisions) > 1:
        flags += " (mergepoint)"
    lines = [f"Rev: {revision}{flags}"]
    parents = ", ".join(script.down_revisions) or "<base>"
    lines.append(f"{'Merges' if len(script.down_revisions) > 1 else 'Parent'}: {parents}")
    if script.depends_on:
        lines.append(f"Also depends on: {', '.join(script.depends_on)}")
    if len(graph.children[revision]) > 1:
        lines.append(f"Branches into: {', '.join(graph.children[revision])}")
    if script.branch_labels:
        lines.append(f"Branch names: {', '.join(script.branch_labels)}")
    lines.append(f"Path: {script.path}")
    lines.append("")
    lines.extend(f"    {line}" for line in script.longdoc.splitlines())
    return "\n".join(lines) + "\n"
