"""What a guarded migration run tells as it goes (``MigrationEvents``, heard by the progress
display) and when it stops part-way (``RevisionFailed``, shown with the sessions in the way)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from migdoctor.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    MigdoctorError,
    Terminated,
)
from migdoctor.facts.sessions import SessionInfo


@dataclass
class MigrationEvents:
    """What a progress display hears about; every callback is optional."""

    lock_wait: Callable[[str], None] = lambda holder: None
    started: Callable[[int, int, str, str], None] = lambda index, total, revision, doc: None
    finished: Callable[[int, int, str, str, float], None] = (
        lambda index, total, revision, doc, seconds: None
    )
    # the run is over, whichever way it went
    ended: Callable[[], None] = lambda: None
    # something worth one line that does not stop the run (the ledger cannot be written)
    warning: Callable[[str], None] = lambda text: None


class RevisionFailed(MigdoctorError):
    """A run stopped part-way: a revision failed, the run was interrupted (``interrupted``
    says how), or it stopped before ``revision`` (``started`` False) because its lock was lost.
    The database rolled back what it could."""

    exit_code = EXIT_FAILED

    def __init__(
        self,
        message: str,
        revision: str,
        doc: str,
        cause: BaseException,
        lock_timeout: bool,
        statement: str | None,
        blockers: tuple[SessionInfo, ...],
        rows_before: tuple[str, ...],
        interrupted: str | None = None,
        started: bool = True,
        completed: tuple[str, ...] = (),
        dialect: str = "",
    ) -> None:
        super().__init__(message)
        # the database's own dialect: the SQL that ends a session differs (KILL, pg_terminate)
        self.dialect = dialect
        self.revision = revision
        self.doc = doc
        self.cause = cause
        self.lock_timeout = lock_timeout
        self.statement = statement
        self.blockers = blockers
        self.rows_before = rows_before
        self.interrupted = interrupted
        self.started = started
        self.completed = completed
        if interrupted is not None:
            self.exit_code = EXIT_TERMINATED if isinstance(cause, Terminated) else EXIT_INTERRUPTED
