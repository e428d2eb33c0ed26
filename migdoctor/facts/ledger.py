"""migdoctor's ledger of applied revisions, as read from the database (``database/ledger.py``
writes and reads it): each revision migdoctor ran, stamped or downgraded, with the sha256 of
its file then."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# the directions of a ledger entry: a revision run up or down, or recorded as applied (stamp)
# or taken back (unstamp, a stamp down) without running
UPGRADE, DOWNGRADE, STAMP, UNSTAMP = "upgrade", "downgrade", "stamp", "unstamp"
APPLYING = (UPGRADE, STAMP)  # the directions after which a revision counts as applied


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    revision: str
    direction: str
    file_sha256: str | None
    file_path: str | None
    applied_at: str  # ISO 8601, UTC
    database_user: str | None
    duration_seconds: float | None
    migdoctor_version: str
    alembic_version: str
    command: str

    def as_record(self) -> dict[str, object]:
        return {
            "id": self.id,
            "revision": self.revision,
            "direction": self.direction,
            "file_sha256": self.file_sha256,
            "file_path": self.file_path,
            "applied_at": self.applied_at,
            "database_user": self.database_user,
            "duration_seconds": self.duration_seconds,
            "migdoctor_version": self.migdoctor_version,
            "alembic_version": self.alembic_version,
            "command": self.command,
        }


@dataclass(frozen=True)
class FileSinceApply:
    """A revision file now, against the one the ledger recorded at its last apply: lines added
    and removed (None when the recorded text was not kept, so only the checksum tells)."""

    revision: str
    path: str
    recorded_sha256: str
    current_sha256: str
    lines_added: int | None = None
    lines_removed: int | None = None


@dataclass(frozen=True)
class LedgerFacts:
    """The ledger table and its newest entries (``entries``, newest first, at most
    ``limit``); ``edited`` the revision files whose bytes differ from those recorded at their
    last apply; ``unreadable`` why the table could not be read."""

    table: str
    exists: bool
    entries: tuple[LedgerEntry, ...] = ()
    edited: Mapping[str, FileSinceApply] = field(default_factory=dict)
    unreadable: str | None = None
    truncated: bool = False

    def last_entry(self, revision: str) -> LedgerEntry | None:
        return next((e for e in self.entries if e.revision == revision), None)
