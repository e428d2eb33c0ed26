"""Writing files so that a crash, a full disk or a second process never leaves half a file: the
bytes go to a temporary file beside the target, which is then renamed over it. Used for a fix's
files (``repair/apply.py``) and migdoctor's caches; the journal appends with its own care."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

IGNORE_EVERYTHING = "# written by migdoctor\n*\n"


def keep_out_of_version_control(folder: Path) -> None:
    """A ``.gitignore`` that ignores the whole folder (migdoctor's local state of this copy of
    the project), unless the folder has one."""
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text(IGNORE_EVERYTHING)


def write_atomically(path: Path, data: bytes, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` in one rename, keeping its permissions (0644 for a new
    file, readable by the project's other users). ``durable``: flushed to disk before the
    rename (a cache need not be). An error names ``path``, not its temporary neighbour."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    try:
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".migdoctor", dir=path.parent
        )
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(path)) from error
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException as error:
        if os.path.exists(temporary):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise OSError(error.errno, error.strerror, str(path)) from error
        raise
