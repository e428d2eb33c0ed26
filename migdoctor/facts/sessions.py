"""Other sessions on the database: who holds a lock on a table, and another run holding the
migration lock, each described as a DBA would want to see it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EXACT = "holds a lock on the table"
OPEN_TRANSACTION = (
    "has an open transaction (performance_schema is off: the tables it locks are unknown)"
)
# SQLite keeps no list of its connections: who holds its write lock cannot be known
SQLITE_WRITE_LOCK = "holds SQLite's write lock (SQLite cannot say which process)"


@dataclass(frozen=True)
class SessionInfo:
    """Another database session, described as a DBA would want to see it."""

    session_id: str
    user: str | None = None
    client: str | None = None
    state: str | None = None
    transaction_seconds: int | None = None
    statement: str | None = None
    evidence: str = EXACT
    tables: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = [f"session {self.session_id}"]
        if self.user:
            parts.append(f"user {self.user}")
        if self.client:
            parts.append(f"from {self.client}")
        if self.state:
            parts.append(f"state {self.state}")
        if self.transaction_seconds is not None:
            parts.append(f"transaction open {self.transaction_seconds}s")
        if self.statement:
            text = " ".join(self.statement.split())
            parts.append(f"last statement: {text[:160]}")
        return ", ".join(parts)

    def ending_statement(self, dialect: str) -> str:
        """The SQL that ends this session, rolling back its transaction."""
        if dialect == "postgresql":
            return f"SELECT pg_terminate_backend({self.session_id})"
        return f"KILL {self.session_id}"

    def as_evidence(self) -> dict[str, Any]:
        return {
            "session": self.session_id,
            "user": self.user,
            "client": self.client,
            "state": self.state,
            "transaction_seconds": self.transaction_seconds,
            "statement": self.statement,
            "tables": list(self.tables),
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class RunInProgress:
    """Another run holds this database's migration lock: who, since when, doing what (each
    where it can be told)."""

    holder: SessionInfo | None = None  # the server session holding the lock
    process: str | None = None  # "process 1234" (SQLite: the lock is a file of this machine)
    purpose: str | None = None  # upgrade, downgrade, stamp, fix, undo
    seconds: int | None = None  # how long the lock has been held
    revision: str | None = None  # the revision it is running

    def describe(self) -> str:
        parts = [self.holder.describe() if self.holder else self.process or "another run"]
        if self.seconds is not None:
            parts.append(f"holding the lock for {self.seconds}s")
        if self.revision:
            parts.append(f"running revision {self.revision}")
        return ", ".join(parts)
