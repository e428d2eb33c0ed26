"""The command line: thin typer commands that parse, call one function, and render.

``app`` holds the application; the commands are declared by topic in ``diagnose`` (check,
explain, list-checks, demo), ``repair`` (fix, undo) and ``migrate`` (the migrate commands,
argument-compatible with alembic's), ``plan``, ``roundtrip``, ``squash`` and ``ledger_log`` (log).
"""

from __future__ import annotations

from migdoctor.cli import diagnose, ledger_log, migrate, plan, repair, roundtrip, squash
from migdoctor.cli.app import app, main

__all__ = [
    "app",
    "diagnose",
    "ledger_log",
    "main",
    "migrate",
    "plan",
    "repair",
    "roundtrip",
    "squash",
]
