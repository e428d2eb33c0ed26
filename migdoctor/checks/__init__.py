"""The registry of checks: each is a pure function ``Facts -> list[Finding]`` in its own module.

A module's docstring is the check's documentation (``migdoctor explain``): a first line
``slug: summary`` and three sections, *What it detects*, *Why it matters*, *How to fix*.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache

from migdoctor.docstrings import doc_sections, doc_summary
from migdoctor.facts.model import ALL_TABLES, OPERATION_TABLES, Facts
from migdoctor.findings import Finding, Severity

CheckFunction = Callable[[Facts], list[Finding]]

# in the order a report lists them: the database's state first, then the revision graph,
# then the environment (env.py and the configuration)
CHECK_MODULES = (
    "migration_in_progress",
    "unknown_revision",
    "behind_squash",
    "version_table_overlap",
    "partial_migration",
    "table_exists",
    "stale_current",
    "lock_contention",
    "concurrent_index_in_transaction",
    "required_column_without_default",
    "set_not_null",
    "unique_on_duplicates",
    "type_change_without_cast",
    "index_needed_by_foreign_key",
    "blocking_index",
    "table_rewrite",
    "validating_constraint",
    "destructive_operation",
    "invalid_index",
    "schema_drift",
    "untracked_schema",
    "script_load_error",
    "multiple_heads",
    "missing_down_revision",
    "duplicate_revision",
    "branch_label_clash",
    "revision_cycle",
    "irreversible_downgrade",
    "edited_after_apply",
    "no_target_metadata",
    "placeholder_url",
)
CRASHED_SLUG = "check-crashed"
CRASHED_CODE = "MD900"
DOC_SECTIONS = ("What it detects", "Why it matters", "How to fix")


@dataclass(frozen=True)
class Check:
    slug: str
    code: str
    severity: Severity
    needs_database: bool
    function: CheckFunction
    doc: str
    healthy: str
    # which live tables the check reads from ``facts.database.tables``: ALL_TABLES, or
    # OPERATION_TABLES when only those the recorded operations name
    reads_tables: str = ALL_TABLES

    @property
    def summary(self) -> str:
        return doc_summary(self.doc)

    def section(self, name: str) -> str:
        """One section of the documentation, as written."""
        return doc_sections(self.doc, DOC_SECTIONS).get(name, "")


def check(
    slug: str,
    code: str,
    severity: Severity,
    needs_database: bool,
    healthy: str,
    reads_tables: str = ALL_TABLES,
) -> Callable[[CheckFunction], CheckFunction]:
    """Declare a check function; the registry finds it through its module. ``healthy`` is the
    line a report prints when the check finds nothing. ``reads_tables``: OPERATION_TABLES when
    the check looks up only tables that recorded operations name; the default reads them all
    (a check that says nothing is given every table)."""

    def declare(function: CheckFunction) -> CheckFunction:
        declared = (slug, code, severity, needs_database, healthy)
        function.__migdoctor_check__ = declared  # type: ignore[attr-defined]
        function.__migdoctor_reads_tables__ = reads_tables  # type: ignore[attr-defined]
        return function

    return declare


@cache
def all_checks() -> tuple[Check, ...]:
    checks = []
    for name in CHECK_MODULES:
        module = importlib.import_module(f"migdoctor.checks.{name}")
        for value in vars(module).values():
            declared = getattr(value, "__migdoctor_check__", None)
            if declared and getattr(value, "__module__", None) == module.__name__:
                slug, code, severity, needs_database, healthy = declared
                reads_tables = getattr(value, "__migdoctor_reads_tables__", ALL_TABLES)
                checks.append(
                    Check(
                        slug,
                        code,
                        severity,
                        needs_database,
                        value,
                        module.__doc__ or "",
                        healthy,
                        reads_tables,
                    )
                )
    return tuple(checks)


class NotApplicable(Exception):
    """Raised by a check that cannot say anything about these facts (the reason is shown)."""


@dataclass(frozen=True)
class CheckOutcome:
    """How one check went: ``passed``, ``failed`` (it has findings), ``skipped``, ``crashed``."""

    check: Check
    status: str
    findings: tuple[Finding, ...] = ()
    reason: str = ""


def selected_checks(select: Sequence[str] = (), ignore: Sequence[str] = ()) -> list[Check]:
    return [
        registered
        for registered in all_checks()
        if (not select or registered.slug in select) and registered.slug not in ignore
    ]


def tables_to_read(select: Sequence[str] = (), ignore: Sequence[str] = ()) -> str:
    """The live tables the selected checks read: all of them unless every check that needs the
    database declares it reads only those the recorded operations name."""
    for registered in selected_checks(select, ignore):
        if registered.needs_database and registered.reads_tables != OPERATION_TABLES:
            return ALL_TABLES
    return OPERATION_TABLES


def run_checks(
    facts: Facts, select: Sequence[str] = (), ignore: Sequence[str] = ()
) -> list[CheckOutcome]:
    outcomes = []
    settings = facts.project.config.settings
    for registered in selected_checks(select, ignore):
        if settings.ignores(registered.slug, registered.code):
            continue  # [tool.migdoctor] ignore
        if registered.needs_database and facts.offline:
            outcomes.append(CheckOutcome(registered, "skipped", reason="needs the database"))
            continue
        try:
            findings = tuple(registered.function(facts))
        except NotApplicable as reason:
            outcomes.append(CheckOutcome(registered, "skipped", reason=str(reason)))
            continue
        except Exception as error:  # noqa: BLE001 - a crashing check is a finding, not an abort
            crashed = replace(_crashed(registered, error), locations=facts.project.config_location)
            outcomes.append(CheckOutcome(registered, "crashed", (crashed,)))
            continue
        outcomes.append(CheckOutcome(registered, "failed" if findings else "passed", findings))
    return outcomes


def _crashed(registered: Check, error: Exception) -> Finding:
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return Finding(
        check=CRASHED_SLUG,
        code=CRASHED_CODE,
        severity=Severity.WARNING,
        title=f"The {registered.slug} check crashed",
        message=(
            f"migdoctor's {registered.slug} check raised {type(error).__name__}: {error}. "
            "The other checks ran. Please report this with the output of --debug."
        ),
        evidence={
            "check": registered.slug,
            "error": f"{type(error).__name__}: {error}",
            "at": where,
        },
    )


def known_slugs() -> list[str]:
    return [c.slug for c in all_checks()]


def require_known_current(facts: Facts) -> None:
    """Checks that reason about pending revisions cannot while the version table names an
    unknown revision (unknown-revision reports that)."""
    if facts.unknown_current:
        raise NotApplicable("the version table names an unknown revision")


def require_no_run_in_progress(facts: Facts) -> None:
    """While another run holds the migration lock, the pending revisions' state is its
    half-done work, not a problem (migration-in-progress reports the run)."""
    if facts.database is not None and facts.database.run_in_progress is not None:
        raise NotApplicable("another run is in progress (see migration-in-progress)")
