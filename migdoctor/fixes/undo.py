"""undo: the inverse of the last applied fix, allowed only while the state is what it left."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from migdoctor.facts import Facts
from migdoctor.findings import RISK_ORDER, Risk
from migdoctor.fixes.journal import (
    JournalEntry,
    completion_from,
    file_change_from,
    sha256,
    version_change_from,
)
from migdoctor.fixes.plan import FileChange, MigrationRun, Plan, RevisionCompletion, refused
from migdoctor.fixes.version_table import with_statements

FIX_ID = "undo"


def entry_needs_database(entry: JournalEntry) -> bool:
    plan = entry.record["plan"]
    return bool(plan.get("version_table") or plan.get("migration") or plan.get("completion"))


def undo_plan(entry: JournalEntry, facts: Facts) -> Plan:
    record = entry.record
    plan = record["plan"]
    after = entry.after
    title = f"Undo {entry.fix} ({record['title']}), applied {record['time']}"
    if plan.get("end_session"):
        return refused(
            FIX_ID, title, Risk.CAUTION, "A session that was ended cannot be brought back."
        )
    risks = [Risk.CAUTION]
    version_table = None
    migration = None
    completion = None
    if entry_needs_database(entry):
        database = facts.database
        if database is None:
            return refused(FIX_ID, title, Risk.CAUTION, "Undoing this fix needs the database.")
        applied_to = (record.get("database") or {}).get("url")
        if applied_to and applied_to != database.url:
            return refused(
                FIX_ID,
                title,
                Risk.CAUTION,
                f"The fix was applied to {applied_to}; this is {database.url}. Nothing restored.",
            )
        left = sorted(after.get("version_rows", []))
        if sorted(database.version_rows) != left:
            return refused(
                FIX_ID,
                title,
                Risk.CAUTION,
                "The version table changed since the fix: it holds "
                f"{', '.join(database.version_rows) or 'nothing'}, the fix left "
                f"{', '.join(left) or 'nothing'}. Nothing restored.",
            )
        if plan.get("version_table"):
            original = version_change_from(plan["version_table"])
            inverse = original.inverse()
            version_table = with_statements(inverse, database.dialect)
        if plan.get("migration"):
            migration_plan = _inverse_migration(plan["migration"], database.version_rows)
            if isinstance(migration_plan, str):
                return refused(FIX_ID, title, Risk.CAUTION, migration_plan)
            migration = migration_plan
            risks.append(Risk.DANGEROUS)
        if plan.get("completion"):
            inverse_completion = _inverse_completion(plan["completion"], database.dialect)
            if isinstance(inverse_completion, str):
                return refused(FIX_ID, title, Risk.CAUTION, inverse_completion)
            completion = inverse_completion
            risks.append(Risk.DANGEROUS)

    files: list[FileChange] = []
    for file_record, left_file in zip(plan.get("files", []), after.get("files", []), strict=False):
        original_file = file_change_from(file_record)
        problem = _changed_since(original_file.path, left_file["sha256"])
        if problem:
            return refused(FIX_ID, title, Risk.CAUTION, problem)
        current = original_file.path.read_bytes()
        files.append(
            FileChange(
                original_file.path,
                current,
                original_file.before,
                _diff(original_file.path, current, original_file.before),
            )
        )
    for created in after.get("created", []):
        path = Path(created["path"])
        problem = _changed_since(path, created["sha256"])
        if problem:
            return refused(FIX_ID, title, Risk.CAUTION, problem)
        files.append(FileChange(path, path.read_bytes(), None, f"delete {path}"))

    return Plan(
        fix=FIX_ID,
        title=title,
        risk=max(risks, key=RISK_ORDER.__getitem__),
        version_table=version_table,
        files=tuple(files),
        migration=migration,
        completion=completion,
        warnings=_warnings(migration) + _completion_warnings(completion),
        arguments={"entry": entry.id},
    )


def _inverse_migration(record: dict[str, Any], current: tuple[str, ...]) -> MigrationRun | str:
    """Back to the rows the run started from: a downgrade undoes an upgrade, and back."""
    before = tuple(record.get("rows_before", ()))
    steps = tuple((revision, message) for revision, message in reversed(record["steps"]))
    if len(before) > 1:
        return (
            f"The {record['direction']} started from several revisions ({', '.join(before)}); "
            "move back by hand with migdoctor upgrade/downgrade."
        )
    destination = before[0] if before else "base"
    direction = "downgrade" if record["direction"] == "upgrade" else "upgrade"
    return MigrationRun(
        direction=direction, destination=destination, steps=steps, rows_before=current
    )


def _inverse_completion(record: dict[str, Any], dialect: str) -> RevisionCompletion | str:
    """The inverse of complete-revision: the reverse of each operation it ran, newest first,
    and the version rows back; a refusal when an operation has no safe inverse or the revision
    file changed (its operations could no longer be recreated as they ran)."""
    original = completion_from(record)
    if original.undo_refusal:
        return f"{original.undo_refusal} Nothing restored."
    problem = _changed_since(original.path, original.file_sha256)
    if problem:
        return (
            f"{problem.split(';')[0]}: the operations it ran can no longer be recreated "
            "exactly. Nothing restored."
        )
    return RevisionCompletion(
        revision=original.revision,
        path=original.path,
        file_sha256=original.file_sha256,
        run=original.run,
        skip=original.skip,
        version_table=with_statements(original.version_table.inverse(), dialect),
        reverse=True,
    )


def _completion_warnings(completion: RevisionCompletion | None) -> tuple[str, ...]:
    if completion is None:
        return ()
    return (
        "Takes back only what complete-revision ran (tables and columns it created are dropped, "
        "with their rows); what the failed upgrade had applied before stays.",
    )


def _changed_since(path: Path, expected_sha: str | None) -> str | None:
    current = path.read_bytes() if path.exists() else None
    if sha256(current) != expected_sha:
        return f"{path} changed since the fix (or was removed); nothing restored."
    return None


def _diff(path: Path, current: bytes, restored: bytes | None) -> str:
    return "".join(
        difflib.unified_diff(
            current.decode("utf-8", "replace").splitlines(keepends=True),
            (restored or b"").decode("utf-8", "replace").splitlines(keepends=True),
            fromfile=f"a/{path.name}",
            tofile=f"b/{path.name}",
        )
    )


def _warnings(migration: MigrationRun | None) -> tuple[str, ...]:
    if migration is None or migration.direction != "downgrade":
        return ()
    return (
        "Undoing an upgrade runs the downgrade() of each revision it applied: tables and columns "
        "they created are dropped, with their rows.",
    )
