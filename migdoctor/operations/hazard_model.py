"""A hazard: what a pending operation will do on this database, in words and numbers (see
``operations/hazards.py``), and the phrases every rule uses."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from migdoctor.facts.model import Facts
from migdoctor.findings import Severity
from migdoctor.operations.pending_steps import PendingStep


@dataclass(frozen=True)
class Hazard:
    code: str
    slug: str
    severity: Severity
    step: PendingStep
    title: str
    sentence: str  # what will happen, with the numbers
    recipe: str  # the safer way, as alembic code or words
    fails: bool = False  # the database will refuse it: the upgrade stops there
    evidence: Mapping[str, Any] = field(default_factory=dict)


Rule = Callable[[PendingStep, str | None, Facts], "Hazard | None"]


def on_table(step: PendingStep) -> str:
    size = step.size
    if size is None:
        return f"table {step.operation.qualified_table}"
    return f"table {step.operation.qualified_table} ({size.rows_in_words()})"


def lock_words(step: PendingStep) -> str:
    lock = step.lock
    if lock is None:
        return ""
    return f" It takes {lock.lock} on the table, which blocks {lock.blocks} while it runs."


def is_small(step: PendingStep, facts: Facts) -> bool:
    """The table is known to be below ``large_table_rows``."""
    size = step.size
    large = facts.project.config.settings.large_table_rows
    return size is not None and size.rows is not None and size.rows < large
