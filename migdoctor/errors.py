"""Errors a user can cause: each becomes one readable line and exit code 2."""

from __future__ import annotations


class CannotCheck(Exception):
    """migdoctor could not do its work: bad usage, no config, unreachable database, env.py failed.

    The message is the one line the user sees; ``hint`` is an optional second line saying
    what to try next.
    """

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigNotFound(CannotCheck):
    """No Alembic configuration where alembic itself would look."""


class AlembicRefused(CannotCheck):
    """alembic itself refused the command (an unknown target, say): exit 1, as alembic."""

    exit_code = 1


class DatabaseUnreachable(CannotCheck):
    """The database refused the connection or could not be found."""


class DatabaseMissing(DatabaseUnreachable):
    """The SQLite file does not exist yet (a check must not create it; an upgrade will)."""


class EnvScriptFailed(CannotCheck):
    """The project's env.py raised before migdoctor could read the database."""


class Terminated(KeyboardInterrupt):
    """SIGTERM: stop as on Ctrl-C (say what was left, exit non-zero), not silently."""


def describe_os_error(error: OSError) -> str:
    """The reason in words: ``no space left on device``, ``operation not permitted``."""
    reason = (error.strerror or str(error) or type(error).__name__).rstrip(".")
    return reason[:1].lower() + reason[1:]


class CannotWrite(CannotCheck):
    """A file or folder migdoctor writes (journal, cache, lock file, a fix's file) cannot be
    written: read-only, immutable, full disk."""
