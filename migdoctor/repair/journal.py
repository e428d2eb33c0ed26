"""The journal: every fix, written down before anything changes, with what it replaces.

JSON lines in ``.migdoctor/journal.jsonl`` beside the Alembic config. A fix appends a
``started`` record (the plan, the version rows before, the original bytes of files it edits)
before touching anything (with the process that runs it, and, for a fix that cannot be undone,
why), then one ``applied`` / ``failed`` / ``interrupted`` record saying which state it left;
``undo`` appends ``undone``. A migration run also appends ``revision-done`` after each revision,
with the tables, columns and indexes that revision created (the schema read before and after
it), so undo never drops what the run did not create, and an entry whose process was killed
still tells how far it got. ``upgrade``/``downgrade --retries N`` appends one ``attempt`` record
per attempt (the revision that gave up on a lock and the sessions in the way, the wait before
the next one, or how the last one ended), under an id of its own: no fix, nothing to undo.
Records are appended and flushed to disk one
line at a time, so a crash loses at most the line being written, and a torn last line is
skipped when reading.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import json
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from migdoctor import __version__
from migdoctor.errors import CannotWrite, describe_os_error
from migdoctor.files import keep_out_of_version_control
from migdoctor.redact import redact
from migdoctor.repair.plan import (
    FileChange,
    MigrationRun,
    Plan,
    RevisionCompletion,
    VersionTableChange,
)

JOURNAL_FOLDER = ".migdoctor"
JOURNAL_FILE = "journal.jsonl"
FINAL_EVENTS = ("applied", "failed", "interrupted")
REVISION_DONE = "revision-done"
ATTEMPT = "attempt"
_WHAT_HAPPENED = {
    "applied": "The fix was applied",
    "failed": "The fix failed",
    "interrupted": "The fix was interrupted",
    "undone": "The undo was applied",
}


def sha256(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class JournalEntry:
    """One fix as the journal tells it: the ``started`` record and what happened after."""

    record: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.record["id"])

    @property
    def fix(self) -> str:
        return str(self.record["fix"])

    @property
    def status(self) -> str:
        final = [e["event"] for e in self.events if e["event"] in FINAL_EVENTS]
        if not final:
            return "unfinished"
        if any(e["event"] == "undone" for e in self.events):
            return "undone"
        return str(final[-1])

    @property
    def state(self) -> str | None:
        """``old`` or ``new``: which state a failed fix left (the journal's own words)."""
        for event in reversed(self.events):
            if "state" in event:
                return str(event["state"])
        return None

    @property
    def after(self) -> dict[str, Any]:
        for event in reversed(self.events):
            if event["event"] == "applied":
                return dict(event.get("after", {}))
        return {}

    @property
    def is_undo(self) -> bool:
        return self.record.get("undoes") is not None

    @property
    def irreversible(self) -> str | None:
        """Why this fix cannot be undone (entries written before this was journaled: a session
        that was ended), or None."""
        reason = self.record.get("irreversible")
        if reason:
            return str(reason)
        if self.record.get("plan", {}).get("end_session"):
            return "A session that was ended cannot be brought back."
        return None

    @property
    def revisions_done(self) -> list[dict[str, Any]]:
        """The ``revision-done`` events of a migration run, in the order they ran."""
        return [event for event in self.events if event["event"] == REVISION_DONE]


class Journal:
    def __init__(self, base_directory: Path) -> None:
        self.path = base_directory / JOURNAL_FOLDER / JOURNAL_FILE

    def _append(self, record: dict[str, Any]) -> None:
        if not self.path.is_file():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            keep_out_of_version_control(self.path.parent)
        data = (json.dumps(_redacted(record), sort_keys=True) + "\n").encode("utf-8")
        descriptor = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(descriptor).st_size
            if size and os.pread(descriptor, 1, size - 1) != b"\n":
                # a line torn by a crash must not swallow this record: start a line of its own
                data = b"\n" + data
            try:
                written = 0
                while written < len(data):
                    count = os.write(descriptor, data[written:])
                    if count == 0:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
                    written += count
                os.fsync(descriptor)
            except OSError:
                # a full disk: take back the part written, or the next record would join it
                with contextlib.suppress(OSError):
                    os.ftruncate(descriptor, size)
                raise
        finally:
            os.close(descriptor)

    def start(
        self,
        plan: Plan,
        database: dict[str, Any] | None,
        undoes: str | None = None,
    ) -> str:
        """Write the ``started`` record: the plan and the state before. Returns the entry id.

        Nothing has changed yet when it is written: a journal that cannot be written (a
        read-only or immutable folder, a full disk) stops the fix before it starts.
        """
        entry_id = new_entry_id()
        record = {
            "id": entry_id,
            "event": "started",
            "time": _now(),
            "migdoctor_version": __version__,
            "fix": plan.fix,
            "risk": plan.risk.value,
            "title": plan.title,
            "arguments": plan.arguments,
            "undoes": undoes,
            "irreversible": plan.irreversible,
            "process": {"pid": os.getpid(), "host": socket.gethostname()},
            "database": database,
            "plan": plan_record(plan),
        }
        try:
            self._append(record)
        except OSError as error:
            folder = self.path.parent
            reason = (
                f"{folder} is a file, not a folder"
                if folder.exists() and not folder.is_dir()
                else describe_os_error(error)
            )
            raise CannotWrite(
                f"Cannot write the journal {self.path}: {reason}; nothing was changed.",
                hint="migdoctor writes down every fix before it starts; make that folder "
                "writable (or free some disk space) and run the fix again.",
            ) from None
        return entry_id

    def finish(self, entry_id: str, event: str, **details: Any) -> None:
        try:
            self._append({"id": entry_id, "event": event, "time": _now(), **details})
        except OSError as error:
            # the change itself happened (or failed) already: say which, do not pretend
            raise CannotWrite(
                f"{_WHAT_HAPPENED.get(event, 'The fix ran')}, but the journal {self.path} "
                f"could not record it: {describe_os_error(error)}.",
                hint="migdoctor undo --list may show it as unfinished; migdoctor check shows "
                "the state now.",
            ) from None

    def attempt(self, run_id: str, **details: Any) -> None:
        """Append one attempt of a run with ``--retries`` (``run_id``: from :func:`new_entry_id`,
        the same for every attempt of the run); CannotWrite when the journal cannot be written."""
        try:
            self._append({"id": run_id, "event": ATTEMPT, "time": _now(), **details})
        except OSError as error:
            raise CannotWrite(
                f"The journal {self.path} could not record the attempt: {describe_os_error(error)}."
            ) from None

    def attempts(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """The ``attempt`` records (of ``run_id`` only, when given), oldest first."""
        return [
            record
            for record in self._records()
            if record["event"] == ATTEMPT and run_id in (None, record["id"])
        ]

    def _records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            raise CannotWrite(
                f"Cannot read the journal {self.path}: {describe_os_error(error)}; "
                "nothing was changed."
            ) from None
        records = []
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "id" in record and "event" in record:
                records.append(record)
        return records

    def entries(self) -> list[JournalEntry]:
        """Every entry, oldest first; lines that cannot be read are skipped."""
        entries: dict[str, JournalEntry] = {}
        for record in self._records():
            if record["event"] == "started":
                entries[record["id"]] = JournalEntry(record)
            elif record["id"] in entries:
                entries[record["id"]].events.append(record)
        return list(entries.values())


def new_entry_id() -> str:
    """A journal id: when (UTC, to the second), and six random hex digits."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def _redacted(value: Any, key: str = "") -> Any:
    """Every string masked for passwords, except file bytes (which must come back exact)."""
    if key.endswith("_base64"):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(item, key) for item in value]
    return value


def plan_record(plan: Plan) -> dict[str, Any]:
    """Everything needed to show the plan again and to reverse it."""
    return {
        "version_table": None
        if plan.version_table is None
        else _version_table_record(plan.version_table),
        "files": [_file_record(change) for change in plan.files],
        "migration": None if plan.migration is None else _migration_record(plan.migration),
        "merge": None
        if plan.merge is None
        else {"heads": list(plan.merge.heads), "revision_id": plan.merge.revision_id},
        "end_session": None
        if plan.end_session is None
        else {"session": plan.end_session.session_id, "statement": plan.end_session.statement},
        "index_drops": [
            {"name": d.name, "definition": d.definition, "statement": d.statement}
            for d in plan.index_drops
        ],
        "autogenerated": None
        if plan.autogenerated is None
        else {
            "revision_id": plan.autogenerated.revision_id,
            "message": plan.autogenerated.message,
            "differences": list(plan.autogenerated.differences),
        },
        "completion": None if plan.completion is None else _completion_record(plan.completion),
        "warnings": list(plan.warnings),
        "blockers": list(plan.blockers),
        "drops": [
            {
                "revision": drop.revision,
                "table": drop.table,
                "column": drop.column,
                "schema": drop.schema,
                "created_by_run": drop.created_by_run,
                "rows": drop.rows,
            }
            for drop in plan.drops
        ],
    }


def _version_table_record(change: VersionTableChange) -> dict[str, Any]:
    return {
        "table": change.table,
        "schema": change.schema,
        "rows_before": list(change.rows_before),
        "rows_after": list(change.rows_after),
        "create_table": change.create_table,
        "drop_table": change.drop_table,
        "statements": list(change.statements),
    }


def _file_record(change: FileChange) -> dict[str, Any]:
    return {
        "path": str(change.path),
        "before_sha256": sha256(change.before),
        "before_base64": None
        if change.before is None
        else base64.b64encode(change.before).decode(),
        "after_sha256": sha256(change.after),
        "diff": change.diff,
    }


def _migration_record(run: MigrationRun) -> dict[str, Any]:
    return {
        "direction": run.direction,
        "destination": run.destination,
        "steps": [list(step) for step in run.steps],
        "rows_before": list(run.rows_before),
        "version_locations": [str(path) for path in run.version_locations],
    }


def _completion_record(completion: RevisionCompletion) -> dict[str, Any]:
    return {
        "revision": completion.revision,
        "path": str(completion.path),
        "file_sha256": completion.file_sha256,
        "run": [list(step) for step in completion.run],
        "skip": [list(step) for step in completion.skip],
        "version_table": _version_table_record(completion.version_table),
        "reverse": completion.reverse,
        "undo_refusal": completion.undo_refusal,
    }


def completion_from(record: dict[str, Any]) -> RevisionCompletion:
    return RevisionCompletion(
        revision=record["revision"],
        path=Path(record["path"]),
        file_sha256=record["file_sha256"],
        run=tuple((int(index), str(words)) for index, words in record["run"]),
        skip=tuple((int(index), str(words)) for index, words in record["skip"]),
        version_table=version_change_from(record["version_table"]),
        reverse=bool(record.get("reverse")),
        undo_refusal=record.get("undo_refusal"),
    )


def version_change_from(record: dict[str, Any]) -> VersionTableChange:
    return VersionTableChange(
        table=record["table"],
        schema=record["schema"],
        rows_before=tuple(record["rows_before"]),
        rows_after=tuple(record["rows_after"]),
        statements=tuple(record.get("statements", ())),
        create_table=bool(record.get("create_table")),
        drop_table=bool(record.get("drop_table")),
    )


def file_change_from(record: dict[str, Any]) -> FileChange:
    before = record.get("before_base64")
    return FileChange(
        path=Path(record["path"]),
        before=None if before is None else base64.b64decode(before),
        after=None,  # only its digest is kept: the file on disk must match it
        diff=record.get("diff", ""),
    )
