"""The catalog of fixes: one module per fix id computes a plan, pure, over the facts, and
declares the fix's ``RISK`` and whether it ``NEEDS_DATABASE``. The repair engine
(``migdoctor/repair/``: plan, journal, apply, undo) carries a plan out; checks offer a fix through
``fixes/options.py``, which reads the risk from here.

A fix's risk says how much it can hurt if the diagnosis is wrong: ``safe`` fixes do what alembic
itself would do, ``caution`` fixes change what alembic believes without touching the schema,
``dangerous`` fixes change the migration history itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migdoctor.facts.model import Facts
    from migdoctor.repair.plan import FixRequest, Plan

# fix id -> module name
FIX_MODULES = {
    "upgrade": "upgrade",
    "stamp": "stamp",
    "clear-version-table": "clear_version_table",
    "neuter-upgrade": "neuter_upgrade",
    "merge-heads": "merge_heads",
    "end-session": "end_session",
    "delete-ancestor-rows": "delete_ancestor_rows",
    "complete-revision": "complete_revision",
    "autogenerate-revision": "autogenerate_revision",
    "wire-target-metadata": "wire_target_metadata",
}


def fix_module(fix_id: str) -> ModuleType:
    return importlib.import_module(f"migdoctor.fixes.{FIX_MODULES[fix_id]}")


def needs_database(fix_id: str) -> bool:
    return bool(fix_module(fix_id).NEEDS_DATABASE)


def plan_fix(facts: Facts, request: FixRequest) -> Plan:
    """The plan for ``request`` over ``facts`` (a refusal plan when it cannot run)."""
    planner: Callable[[Facts, FixRequest], Plan] = fix_module(request.fix).plan
    return planner(facts, request)
