"""The command line: thin typer commands that parse, call one function, and render.

``app`` holds the application; the commands are declared by topic in ``diagnose`` (check,
explain, list-checks, demo), ``repair`` (fix, undo) and ``migrate`` (the migrate commands,
argument-compatible with alembic's), ``plan`` and ``roundtrip``.
"""

from __future__ import annotations

from migdoctor.cli import diagnose, migrate, plan, repair, roundtrip
from migdoctor.cli.app import app, main

__all__ = ["app", "diagnose", "main", "migrate", "plan", "repair", "roundtrip"]
