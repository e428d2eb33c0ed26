"""Errors migdoctor reports as a readable line and an exit code (never a traceback), every exit
code it uses, and how an error is described in one line."""

from __future__ import annotations

# every exit code migdoctor uses, defined here only
EXIT_OK = 0  # healthy, done, or nothing to do
EXIT_FAILED = 1  # errors found, refused by the state of things, or a step failed
EXIT_CANNOT = 2  # could not do the work: bad usage, no config, no database, no consent possible
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT
EXIT_TERMINATED = 143  # SIGTERM, as a shell reports it


class MigdoctorError(Exception):
    """A failure migdoctor reports as a readable message and an exit code, never a traceback.

    Its subclasses are every way a run can stop early: bad usage, no config, an unreachable
    database, env.py failed (it could not check), a fix or a revision failed, a lock was not
    granted. The message is the one line the user sees; ``hint`` is an optional second line
    saying what to try next.
    """

    exit_code = EXIT_CANNOT

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigNotFound(MigdoctorError):
    """No Alembic configuration where alembic itself would look."""


class AlembicRefused(MigdoctorError):
    """alembic itself refused the command (an unknown target, say): exit 1, as alembic."""

    exit_code = EXIT_FAILED


class DatabaseUnreachable(MigdoctorError):
    """The database refused the connection or could not be found."""


class DatabaseMissing(DatabaseUnreachable):
    """The SQLite file does not exist yet (a check must not create it; an upgrade will)."""


class EnvScriptFailed(MigdoctorError):
    """The project's env.py raised before migdoctor could read the database."""


class Terminated(KeyboardInterrupt):
    """SIGTERM: stop as on Ctrl-C (say what was left, exit non-zero), not silently."""


def describe_os_error(error: OSError) -> str:
    """The reason in words: ``no space left on device``, ``operation not permitted``."""
    reason = (error.strerror or str(error) or type(error).__name__).rstrip(".")
    return reason[:1].lower() + reason[1:]


class CannotWrite(MigdoctorError):
    """A file or folder migdoctor writes (journal, cache, lock file, a fix's file) cannot be
    written: read-only, immutable, full disk."""


def describe_exception(error: BaseException) -> str:
    """An error in one line: its type and the first line of its message."""
    if isinstance(error, SyntaxError):
        return f"SyntaxError: {error.msg}"
    text = str(error).strip().splitlines()
    described = f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
    return described + _validation_errors(error)


def _validation_errors(error: BaseException, shown: int = 8) -> str:
    """For pydantic's ValidationError, whose first line only counts them: why, and for which
    fields (full-stack-fastapi-template, github.com/fastapi/full-stack-fastapi-template, reads
    its database settings from the environment in env.py, each one required)."""
    errors = getattr(error, "errors", None)
    if type(error).__name__ != "ValidationError" or not callable(errors):
        return ""
    fields: dict[str, list[str]] = {}
    try:
        for item in errors()[:shown]:
            where = ".".join(str(part) for part in item["loc"]) or "the value"
            fields.setdefault(str(item["msg"]), []).append(where)
    except Exception:  # noqa: BLE001 - a look-alike without pydantic's shape: its first line
        return ""
    return "".join(f"; {message}: {', '.join(names)}" for message, names in fields.items())


def driver_error(error: BaseException) -> BaseException:
    """The driver's own error inside SQLAlchemy's wrapper: its message is the one users know."""
    return getattr(error, "orig", None) or error
