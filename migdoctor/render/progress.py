"""Progress of an upgrade or downgrade: revision k of n, its message, the time it takes.

On a terminal the running revision shows with a live clock; elsewhere (CI logs) each revision
gets a plain line when it starts and when it ends, so a hang names the revision it hangs in.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from migdoctor.facts.migration_run import MigrationEvents
from migdoctor.redact import redact

if TYPE_CHECKING:
    from rich.console import RenderResult


class _Running:
    """The line of the running revision; its clock is read at each refresh."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.started = time.monotonic()

    def __rich_console__(self, console: Console, options: object) -> RenderResult:
        yield Text(f"  ⋯ {self.text} ({time.monotonic() - self.started:.1f}s)")


class MigrationProgress:
    def __init__(self, console: Console, verb: str) -> None:
        self.console = console
        self.verb = verb
        self.live: Live | None = None
        self.running: _Running | None = None

    def events(self) -> MigrationEvents:
        return MigrationEvents(
            lock_wait=self.lock_wait,
            started=self.started,
            finished=self.finished,
            ended=self.stop,
            warning=self.warning,
        )

    def warning(self, text: str) -> None:
        self.console.print(f"[yellow]warning:[/] {escape(redact(text))}", highlight=False)

    def lock_wait(self, holder: str) -> None:
        self.console.print(
            f"Waiting for the migration lock of this database, held by {escape(redact(holder))} …"
        )

    def _label(self, index: int, total: int, revision: str, doc: str) -> str:
        return f"[{index}/{total}] {revision}" + (f" {doc}" if doc else "")

    def started(self, index: int, total: int, revision: str, doc: str) -> None:
        label = redact(self._label(index, total, revision, doc))
        if self.console.is_terminal:
            self.running = _Running(label)
            self.live = Live(
                self.running, console=self.console, refresh_per_second=4, transient=True
            )
            self.live.start()
        else:
            self.console.print(f"{escape(label)} …", highlight=False)

    def finished(self, index: int, total: int, revision: str, doc: str, seconds: float) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
            self.running = None
        label = escape(redact(self._label(index, total, revision, doc)))
        self.console.print(f"  [green]✓[/] {label} ({seconds:.1f}s)")

    def stop(self) -> None:
        """End the live line; a revision still running (the run stopped in it) keeps its line,
        so what follows is read beside it, never in its place."""
        if self.live is not None:
            running = self.running
            self.live.stop()
            self.live = None
            self.running = None
            if running is not None:
                seconds = time.monotonic() - running.started
                self.console.print(
                    f"  [red]✗[/] {escape(running.text)} (stopped after {seconds:.1f}s)",
                    highlight=False,
                )
