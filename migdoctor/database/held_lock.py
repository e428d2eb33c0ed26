"""The migration lock as this process holds it: whether its session still holds it, and the
mark of the revision running beside it (see :mod:`migdoctor.database.locking`)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migdoctor.database.lock_names import POSTGRES_MARK_CLASS, crc, mark_name, postgres_keys
from migdoctor.errors import EXIT_FAILED, MigdoctorError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


class LockLost(MigdoctorError):
    """The session holding the migration lock is gone (ended on the server): another run may
    start alongside this one, so it must stop."""

    exit_code = EXIT_FAILED


@dataclass
class HeldLock:
    """The migration lock as this process holds it."""

    dialect: str
    name: str
    purpose: str
    session_id: str | None = None  # the lock's own server session
    lock_file: Path | None = None  # SQLite
    descriptor: int | None = None
    depth: int = 1
    marks: dict[str, Any] = field(default_factory=dict)

    def verify(self, connection: Connection) -> None:
        """Raise LockLost when the lock's session has ended (asked on ``connection``, another
        session, so that the lock's own session stays idle and its idle time says since when
        it holds the lock)."""
        from sqlalchemy import text

        if self.session_id is None:
            return
        if self.dialect in ("mysql", "mariadb"):
            holder = connection.execute(
                text("SELECT IS_USED_LOCK(:name)"), {"name": self.name}
            ).scalar()
            held = holder is not None and str(holder) == self.session_id
        else:
            first, second = postgres_keys(self.name)
            held = bool(
                connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                        "AND pid = :pid AND classid = :a AND objid = :b AND objsubid = 2"
                    ),
                    {"pid": int(self.session_id), "a": first, "b": second},
                ).scalar()
            )
        if not held:
            raise LockLost(
                f"The session that held the migration lock (session {self.session_id}) is "
                "gone (ended on the server, or its connection lost), so another run could "
                "start alongside this one.",
                hint="migdoctor check shows the state left; run the command again.",
            )

    @contextmanager
    def running(self, connection: Connection, revision: str) -> Iterator[None]:
        """Mark ``revision`` as running while it runs, for a check to read."""
        from sqlalchemy import text

        mark = mark_name(self.name, "revision", revision)
        if self.dialect in ("mysql", "mariadb"):
            connection.execute(text("SELECT GET_LOCK(:mark, 0)"), {"mark": mark})
        elif self.dialect == "postgresql":
            # released with the transaction the revision runs in
            connection.execute(
                text("SELECT pg_try_advisory_xact_lock(:a, :b)"),
                {"a": POSTGRES_MARK_CLASS, "b": crc(mark)},
            )
        else:
            self._write_marks(revision=revision)
        try:
            yield
        finally:
            if self.dialect in ("mysql", "mariadb"):
                # a lost connection took the mark with it
                with suppress(Exception):
                    connection.execute(text("SELECT RELEASE_LOCK(:mark)"), {"mark": mark})
            elif self.dialect == "sqlite":
                self._write_marks(revision=None)

    def _write_marks(self, **marks: Any) -> None:
        if self.descriptor is None:
            return
        self.marks.update(marks)
        os.ftruncate(self.descriptor, 0)
        os.pwrite(self.descriptor, json.dumps(self.marks).encode(), 0)
