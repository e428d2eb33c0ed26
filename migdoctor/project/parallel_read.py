"""Read many revision headers on two cores.

Parsing is most of what reading a project without its cache costs (a tenth of a millisecond a
file). With many files to parse, and on Linux with no other thread running (a fork copies only
the calling thread), the process forks once: the child parses the second half of the files and
sends its headers back (pickled), while the parent parses the first half. Each header depends
only on its file's bytes, so which process reads it changes nothing. When the child fails for
any reason, the parent reads its half itself.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# below this many files, forking and pickling cost more than the half they save
SPLIT_AT = 1000
SERIAL_VARIABLE = "MIGDOCTOR_SERIAL_READ"


def read_all(paths: Sequence[Path], read: Callable[[Path], T]) -> list[T]:
    """``[read(path) for path in paths]``, on two cores when it pays."""
    if len(paths) < SPLIT_AT or not _can_fork():
        return [read(path) for path in paths]
    half = len(paths) // 2
    second = _read_in_child(paths[half:], read)
    if second is None:
        return [read(path) for path in paths]
    pid, pipe = second
    try:
        first = [read(path) for path in paths[:half]]
        rest = _collect(pid, pipe, len(paths) - half)
    except BaseException:
        _end(pid)
        with contextlib.suppress(OSError):
            os.close(pipe)
        raise
    if rest is None:
        rest = [read(path) for path in paths[half:]]
    return [*first, *rest]


def _can_fork() -> bool:
    return (
        sys.platform == "linux"
        and hasattr(os, "fork")
        and threading.active_count() == 1
        and os.cpu_count() not in (None, 1)
        and os.environ.get(SERIAL_VARIABLE, "") in ("", "0")
    )


def _read_in_child(paths: Sequence[Path], read: Callable[[Path], T]) -> tuple[int, int] | None:
    """Fork a child that reads ``paths`` and writes the pickled list to a pipe: its pid and
    the pipe's read end (None when it cannot be forked)."""
    try:
        answers_read, answers_write = os.pipe()
    except OSError:
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError:
        os.close(answers_read)
        os.close(answers_write)
        return None
    if pid == 0:  # the child: never returns
        status = 1
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # a Ctrl-C ends it at once
            os.close(answers_read)
            data = pickle.dumps([read(path) for path in paths], protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(answers_write, "wb") as answers:
                answers.write(data)
            status = 0
        finally:
            os._exit(status)
    os.close(answers_write)
    return pid, answers_read


def _collect(pid: int, pipe: int, count: int) -> list[Any] | None:
    """The child's headers, or None when it did not give them all."""
    with os.fdopen(pipe, "rb") as answers:
        data = answers.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0 or not data:
        return None
    try:
        read = pickle.loads(data)
    except Exception:  # noqa: BLE001 - whatever went wrong, the parent reads them itself
        return None
    return read if isinstance(read, list) and len(read) == count else None


def _end(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
