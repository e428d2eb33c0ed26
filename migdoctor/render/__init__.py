"""Rendering: the only place that knows about rich, JSON, SARIF and GitHub annotations.
Everything else returns data."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from migdoctor.checks.report import Report

FORMATS = ("text", "json", "sarif", "github")


@contextmanager
def stdout_for_report_only() -> Iterator[None]:
    """Send whatever env.py, the application or its logging print to stderr while the facts are
    gathered, so that stdout carries the report alone (a JSON report must parse).

    Both Python's ``sys.stdout`` (prints, and logging handlers configured meanwhile) and the
    process's file descriptor 1 (C extensions, child processes) point to stderr until it ends.
    """
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except (OSError, ValueError, io.UnsupportedOperation):
        saved = None
    try:
        if saved is not None:
            os.dup2(2, 1)
        with redirect_stdout(sys.stderr):
            yield
    finally:
        # a handler that kept the real sys.stdout may hold buffered lines: they go to stderr
        if sys.__stdout__ is not None:
            sys.__stdout__.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def stdout_console(file: IO[str] | None = None) -> Console:
    """The console for people: a line longer than the terminal is left whole for the terminal to
    wrap (a command stays one line to copy); a box (a finding's panel, a table) is laid out at
    the terminal's width, its text wrapped inside it — never cut. ``file``: write there instead
    (plain text, 100 columns), to be shown later."""
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table

    class BoxWrappingConsole(Console):
        def print(self, *objects: Any, **options: Any) -> None:
            if options.get("soft_wrap") is None and any(
                isinstance(item, (Panel, Table)) for item in objects
            ):
                # soft wrapping would crop a box's lines at its border, mid-sentence
                options["soft_wrap"] = False
            super().print(*objects, **options)

    if file is not None:
        return BoxWrappingConsole(highlight=False, soft_wrap=True, file=file, width=100)
    return BoxWrappingConsole(highlight=False, soft_wrap=True)


def render_report(report: Report, output_format: str) -> None:
    """Print the report to stdout in one of ``FORMATS``."""
    import typer

    if output_format == "text":
        from migdoctor.render.text import render_text

        render_text(report, stdout_console())
        return
    if output_format == "json":
        from migdoctor.render.json import render_json as render
    elif output_format == "sarif":
        from migdoctor.render.sarif import render_sarif as render
    else:
        from migdoctor.render.github import render_github as render
    typer.echo(render(report))
