"""What each database of a fleet (``--targets``) said."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from migdoctor.project.targets import Target


@dataclass(frozen=True)
class TargetOutcome:
    """What one target's run said: its exit code, its JSON report (checks), the text it printed
    (upgrades), or why it could not run."""

    target: Target
    exit_code: int
    report: dict[str, Any] | None = None
    output: str = ""
    error: str | None = None
