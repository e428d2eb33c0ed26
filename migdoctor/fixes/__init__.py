"""The catalog of fixes: one module per fix id computes a plan, pure, over the facts, and
declares the fix's ``RISK`` and whether it ``NEEDS_DATABASE``. The repair engine
(``migdoctor/repair/``: plan, journal, apply, undo) carries a plan out; checks offer a fix through
``fixes/options.py``, which reads the risk from here.

A fix's risk says how much it can hurt if the diagnosis is wrong: ``safe`` fixes do what alembic
itself would do, ``caution`` fixes change what alembic believes without touching the schema,
``dangerous`` fixes change the migration history itself.

A module's docstring is the fix's documentation (``migdoctor explain FIX-ID``): a first line
``fix-id: summary`` and three sections, *What it does*, *Risk*, *Undo* (how ``migdoctor undo``
reverts it, or why it cannot).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from migdoctor.docstrings import doc_sections, doc_summary
from migdoctor.findings import Risk

if TYPE_CHECKING:
    from migdoctor.facts.model import Facts
    from migdoctor.repair.plan import FixRequest, Plan

FIX_DOC_SECTIONS = ("What it does", "Risk", "Undo")

# fix id -> module name
FIX_MODULES = {
    "upgrade": "upgrade",
    "stamp": "stamp",
    "clear-version-table": "clear_version_table",
    "neuter-upgrade": "neuter_upgrade",
    "merge-heads": "merge_heads",
    "end-session": "end_session",
    "drop-invalid-indexes": "drop_invalid_indexes",
    "delete-ancestor-rows": "delete_ancestor_rows",
    "complete-revision": "complete_revision",
    "autogenerate-revision": "autogenerate_revision",
    "renumber-revision": "renumber_revision",
    "reparent-revision": "reparent_revision",
    "rebase-heads": "rebase_heads",
    "archive-branch": "archive_branch",
    "wire-target-metadata": "wire_target_metadata",
    "restore-revision": "restore_revision",
    "baseline": "baseline",
    "upgrade-archived": "upgrade_archived",
}


def fix_module(fix_id: str) -> ModuleType:
    return importlib.import_module(f"migdoctor.fixes.{FIX_MODULES[fix_id]}")


def needs_database(fix_id: str) -> bool:
    return bool(fix_module(fix_id).NEEDS_DATABASE)


def plan_fix(facts: Facts, request: FixRequest) -> Plan:
    """The plan for ``request`` over ``facts`` (a refusal plan when it cannot run)."""
    planner: Callable[[Facts, FixRequest], Plan] = fix_module(request.fix).plan
    return planner(facts, request)


@dataclass(frozen=True)
class FixDoc:
    """A fix as ``explain`` and ``list-fixes`` show it, from its module."""

    id: str
    risk: Risk
    needs_database: bool
    doc: str

    @property
    def summary(self) -> str:
        return doc_summary(self.doc)

    def section(self, name: str) -> str:
        """One section of the documentation, as written."""
        return doc_sections(self.doc, FIX_DOC_SECTIONS).get(name, "")


def fix_doc(fix_id: str) -> FixDoc:
    module = fix_module(fix_id)
    return FixDoc(fix_id, module.RISK, bool(module.NEEDS_DATABASE), module.__doc__ or "")


def all_fixes() -> tuple[FixDoc, ...]:
    return tuple(fix_doc(fix_id) for fix_id in FIX_MODULES)
