"""Import version files in a child process, so that none can hang or end migdoctor.

The files are imported in one child process (:mod:`migdoctor.project.load_child`) with the
``sys.path`` alembic's process would have, one after the other as alembic does, so that a file
that hangs or ends the process can neither hang nor end migdoctor: each file has
``MIGDOCTOR_IMPORT_TIMEOUT`` seconds (default 15), after which the child is killed and the
remaining files are imported by a new one; a file that ends the child is named the same way.
The same child reads the headers that are not literal
(:func:`migdoctor.project.loading.import_headers`), for ``heads`` and ``history`` too. A
timed-out import is never cached: a lock or the network may be free on the next run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

TIMEOUT_VARIABLE = "MIGDOCTOR_IMPORT_TIMEOUT"
DEFAULT_TIMEOUT = 15.0
HANG = "TimeoutError"
PROCESS_EXIT = "ProcessExit"
# what the child may take to start and import alembic and SQLAlchemy, on a busy machine
STARTUP_SECONDS = 30.0
CHILD = Path(__file__).with_name("load_child.py")

# a file's answer: None when it imports, else
# (type, message, line, statement, missing module)
Answer = tuple[str, str, int | None, str | None, str | None] | None

# how a child stopped before answering for every file: (kind, why, line in the file)
Stopped = tuple[str, str, int | None]


def import_timeout() -> float:
    try:
        value = float(os.environ.get(TIMEOUT_VARIABLE, "") or DEFAULT_TIMEOUT)
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def import_in_child(
    files: Sequence[str],
    sys_path: Sequence[str],
    timeout: float,
    headers: dict[str, Any] | None = None,
) -> tuple[dict[str, Answer], list[str], str | None]:
    """Import ``files`` in order in child processes: each file's answer, the module files the
    imports loaded, and why nothing could be imported (None when the child ran). ``headers``,
    when given, receives the header values of each file that imports (by path)."""
    answers: dict[str, Answer] = {}
    loaded: list[str] = []
    start = 0
    while start < len(files):
        batch = list(files[start:])
        got, batch_loaded, stopped = _run_child(batch, sys_path, timeout, headers)
        if stopped is not None and stopped[0] == "start":
            return answers, loaded, stopped[1]
        for index, answer in got.items():
            answers[batch[index]] = answer
        loaded.extend(batch_loaded)
        if stopped is None:
            break
        # the file after the last answer hung or ended the child: name it, go on after it
        culprit = len(got)
        kind, why, line = stopped
        answers[batch[culprit]] = (kind, why, line, _source_line(batch[culprit], line), None)
        start += culprit + 1
    return answers, loaded, None


class ImportStream:
    """A load child started before the files to import are all known: it is told, file by
    file and in order, whether to import each of ``candidates`` (:meth:`decide`), so that it
    imports while migdoctor is still reading the headers that decide it, on the other core.
    It imports exactly the files it is told to, in order, as ``import_in_child`` would; only a
    fork of this process can be one (:meth:`start` is None otherwise)."""

    # decisions are sent in batches, and the answers read meanwhile, so that neither pipe fills
    BATCH = 256

    def __init__(
        self,
        child: _ForkedChild,
        control: int,
        candidates: list[str],
        sys_path: Sequence[str],
        timeout: float,
        dump: Path,
    ) -> None:
        self.child = child
        self.control: int | None = control
        self.candidates = candidates
        self.sys_path = sys_path
        self.timeout = timeout
        self.dump = dump
        self.included: list[str] = []
        self.decided = 0
        self._unsent = bytearray()
        self._received = bytearray()

    @classmethod
    def start(
        cls, candidates: Sequence[str], sys_path: Sequence[str], timeout: float
    ) -> ImportStream | None:
        if not candidates or not _can_fork():
            return None
        control_read, control_write = os.pipe()
        if len(candidates) > _pipe_capacity(control_write):
            # every decision must fit in the pipe at once: then a write never waits for a
            # child that is stuck in a file
            os.close(control_read)
            os.close(control_write)
            return None
        os.set_blocking(control_write, False)
        handle, dump = tempfile.mkstemp(prefix="migdoctor-load-", suffix=".txt")
        os.close(handle)
        try:
            child = _ForkedChild.start(control_read)
        except OSError:
            os.close(control_write)
            Path(dump).unlink(missing_ok=True)
            return None
        finally:
            os.close(control_read)
        files = list(candidates)
        stream = cls(child, control_write, files, sys_path, timeout, Path(dump))
        try:
            _send_request(child, _request(files, sys_path, Path(dump), False, True, streamed=True))
        except BaseException:
            stream.close()
            raise
        assert child.stdout is not None
        os.set_blocking(child.stdout.fileno(), False)
        return stream

    def decide(self, import_it: bool) -> None:
        """Whether to import the next candidate."""
        if import_it:
            self.included.append(self.candidates[self.decided])
        self.decided += 1
        self._unsent += b"+" if import_it else b"-"
        if len(self._unsent) >= self.BATCH:
            self._send()

    def _send(self, everything: bool = False) -> None:
        """Write the decisions not sent yet, as far as the pipe takes them without waiting
        (``everything``: all of them, reading the answers meanwhile so that neither side
        waits for the other)."""
        while self._unsent and self.control is not None:
            try:
                written = os.write(self.control, self._unsent)
            except BlockingIOError:  # the pipe holds every decision (start): only a moment
                if not everything:
                    break
                self._drain()
                assert self.child.stdout is not None
                select.select([self.child.stdout], [self.control], [], 0.05)
                continue
            except OSError:  # the child is gone: finish() tells how
                self._close_control()
                break
            del self._unsent[:written]
        self._drain()

    def _drain(self) -> None:
        """Read what the child has answered so far, without waiting."""
        assert self.child.stdout is not None
        while True:
            try:
                chunk = os.read(self.child.stdout.fileno(), 65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if not chunk:
                return
            self._received += chunk

    def _close_control(self) -> None:
        if self.control is not None:
            os.close(self.control)
            self.control = None

    def finish(self) -> tuple[dict[str, Answer], list[str], str | None]:
        """Every candidate decided: the answers for the files imported, as ``import_in_child``
        gives them (a file that hangs or ends the child is named, and the files after it are
        imported by a new child)."""
        assert self.decided == len(self.candidates)
        self._send(everything=True)
        self._close_control()
        assert self.child.stdout is not None
        os.set_blocking(self.child.stdout.fileno(), True)
        try:
            got, loaded, stopped = _collect(
                self.child, self.included, self.timeout, self.dump, None, bytes(self._received)
            )
        finally:
            self.dump.unlink(missing_ok=True)
        if stopped is not None and stopped[0] == "start":
            return {}, [], stopped[1]
        answers = {self.included[index]: answer for index, answer in got.items()}
        if stopped is None:
            return answers, loaded, None
        culprit = len(got)
        kind, why, line = stopped
        path = self.included[culprit]
        answers[path] = (kind, why, line, _source_line(path, line), None)
        rest = self.included[culprit + 1 :]
        more, more_loaded, failure = import_in_child(rest, self.sys_path, self.timeout)
        if failure is not None:
            return answers, loaded, failure
        answers.update(more)
        return answers, [*loaded, *more_loaded], None

    def close(self) -> None:
        """End the child if it still runs (when the run stops before :meth:`finish`)."""
        self._close_control()
        if self.child.returncode is None:
            _end(self.child)
        self.dump.unlink(missing_ok=True)


def _pipe_capacity(descriptor: int) -> int:
    """How many bytes the pipe holds (grown to 1 MiB where Linux lets it)."""
    import fcntl

    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    get_size = getattr(fcntl, "F_GETPIPE_SZ", None)
    if set_size is None or get_size is None:
        return 4096  # POSIX's least
    with contextlib.suppress(OSError):
        fcntl.fcntl(descriptor, set_size, 1 << 20)
    try:
        return int(fcntl.fcntl(descriptor, get_size))
    except OSError:
        return 4096


def _run_child(
    files: list[str], sys_path: Sequence[str], timeout: float, headers: dict[str, Any] | None
) -> tuple[dict[int, Answer], list[str], Stopped | None]:
    """One child over ``files``: the answers it gave, the modules it loaded, and how it stopped
    early (None when it answered for every file): ("start", why) when it never got going, or
    (exception type, message) for the file it was importing."""
    handle, dump = tempfile.mkstemp(prefix="migdoctor-load-", suffix=".txt")
    os.close(handle)
    try:
        return _run_child_dumping(files, sys_path, timeout, Path(dump), headers)
    finally:
        Path(dump).unlink(missing_ok=True)


def _run_child_dumping(
    files: list[str],
    sys_path: Sequence[str],
    timeout: float,
    dump: Path,
    headers: dict[str, Any] | None,
) -> tuple[dict[int, Answer], list[str], Stopped | None]:
    try:
        child = _start_child(files, sys_path, dump, headers is not None)
    except OSError as error:
        return {}, [], ("start", f"the version files could not be imported ({error})", None)
    return _collect(child, files, timeout, dump, headers)


def _request(
    files: list[str],
    sys_path: Sequence[str],
    dump: Path,
    headers: bool,
    forked: bool,
    streamed: bool = False,
) -> bytes:
    request: dict[str, Any] = {
        "sys_path": list(sys_path),
        "files": files,
        "dump": str(dump),
        "headers": headers,
    }
    if forked:
        request["all_loaded"] = True
    if streamed:  # which of ``files`` to import comes file by file (ImportStream)
        request["streamed"] = True
    return json.dumps(request).encode()


def _start_child(
    files: list[str], sys_path: Sequence[str], dump: Path, headers: bool
) -> subprocess.Popen[bytes] | _ForkedChild:
    """A child with its request written: a fork of this process when it can be, else a new
    interpreter running :mod:`load_child` (OSError when neither starts)."""
    forked = _can_fork()
    child: subprocess.Popen[bytes] | _ForkedChild = (
        _ForkedChild.start()
        if forked
        else subprocess.Popen(
            [sys.executable, str(CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C is migdoctor's; the child is ended below
        )
    )
    try:
        _send_request(child, _request(files, sys_path, dump, headers, forked))
    except BaseException:
        _end(child)
        raise
    return child


def _send_request(child: subprocess.Popen[bytes] | _ForkedChild, request: bytes) -> None:
    assert child.stdin is not None
    try:
        child.stdin.write(request)
        child.stdin.close()
    except BrokenPipeError:
        pass


def _collect(
    child: subprocess.Popen[bytes] | _ForkedChild,
    files: list[str],
    timeout: float,
    dump: Path,
    headers: dict[str, Any] | None,
    received: bytes = b"",
) -> tuple[dict[int, Answer], list[str], Stopped | None]:
    """Read the child's answers for ``files`` (``received``: what was read of them already),
    then end it: the answers, the modules it loaded, and how it stopped early."""
    answers: dict[int, Answer] = {}
    loaded: list[str] = []
    ready = False
    try:
        assert child.stdout is not None
        *early, rest = received.split(b"\n")
        ended: list[bool] = []
        for line in (
            *early,
            *_lines(child.stdout, timeout, ended, first=timeout + STARTUP_SECONDS, pending=rest),
        ):
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if "ready" in message:
                ready = True
            elif "loaded" in message:
                loaded = [str(f) for f in message["loaded"]]
                return answers, loaded, None
            else:
                index = int(message["index"])
                answers[index] = _answer(message)
                if headers is not None and "header" in message:
                    headers[files[index]] = message["header"]
        if ready and len(answers) == len(files):
            return answers, loaded, None  # every file answered; only the list of modules is lost
        try:
            # at end of file the child is exiting: give it a moment to be done
            status: int | None = child.wait(timeout=2.0 if ended else 0.0)
        except subprocess.TimeoutExpired:
            status = None
        if status is None:
            hung_at = _where_it_hangs(child, dump, files[len(answers)] if ready else None)
            stopped: Stopped = (
                HANG,
                f"importing the file did not finish within {timeout:g} s (it may wait for a "
                "lock, the network or input; alembic would wait as long)",
                hung_at,
            )
        else:
            stopped = (
                PROCESS_EXIT,
                f"the import ended the process ({_status(status)}); alembic would stop there "
                "without a word",
                None,
            )
        if not ready:
            return {}, [], ("start", "the version files could not be imported: " + stopped[1], None)
        return answers, loaded, stopped
    finally:
        _end(child)


def _where_it_hangs(
    child: subprocess.Popen[bytes] | _ForkedChild, dump: Path, path: str | None
) -> int | None:
    """The line of ``path`` where the child is, from the traceback it dumps on SIGUSR1."""
    if path is None or child.poll() is not None or not hasattr(signal, "SIGUSR1"):
        return None
    try:
        os.kill(child.pid, signal.SIGUSR1)
    except OSError:
        return None
    deadline = time.monotonic() + 1.0
    text = ""
    while time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            text = dump.read_text(errors="replace")
        except OSError:
            return None
        if "File " in text:
            break
    line = None
    for match in re.finditer(r'File "(.*)", line (\d+)', text):
        if match.group(1) == path:
            line = int(match.group(2))
            break  # faulthandler lists the innermost frame first
    return line


def _source_line(path: str, line: int | None) -> str | None:
    if line is None:
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as source:
            for number, text in enumerate(source, 1):
                if number == line:
                    return text.strip()
    except OSError:
        pass
    return None


def _answer(message: dict[str, Any]) -> Answer:
    if "type" not in message:
        return None
    line = message.get("line")
    statement = message.get("statement")
    missing = message.get("missing")
    return (
        str(message["type"]),
        str(message.get("message") or ""),
        line if isinstance(line, int) else None,
        statement if isinstance(statement, str) else None,
        missing if isinstance(missing, str) else None,
    )


def _lines(
    stream: Any, timeout: float, ended: list[bool], first: float, pending: bytes = b""
) -> Iterator[bytes]:
    """The child's answer lines (``pending``: the start of the first, read already); stops at
    end of file (then ``ended`` gets True), or when no line came for ``timeout`` seconds
    (``first`` for the first line)."""
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    deadline = time.monotonic() + first
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                return
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                ended.append(True)
                return
            pending += chunk
            *complete, pending = pending.split(b"\n")
            if complete:
                deadline = time.monotonic() + timeout
            yield from complete
    finally:
        selector.close()


def _status(status: int) -> str:
    if status < 0:
        try:
            return f"killed by signal {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


def _end(child: subprocess.Popen[bytes] | _ForkedChild) -> None:
    """End the child and whatever it started (its own process group)."""
    if child.poll() is None:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, AttributeError):
            child.kill()
    child.wait()
    if child.stdout is not None:
        child.stdout.close()


# -- a child forked from migdoctor's own process ---------------------------------------------------

SPAWN_VARIABLE = "MIGDOCTOR_IMPORT_SPAWN"
# where a streamed child (:class:`ImportStream`) reads which files to import
CONTROL_DESCRIPTOR = 3


def _can_fork() -> bool:
    """Whether the child can be a fork of this process: on Linux, with no other thread running
    (a fork copies only the calling thread), unless ``MIGDOCTOR_IMPORT_SPAWN=1`` asks for a new
    interpreter. A fork starts in milliseconds where a new interpreter takes a third of a second
    to import alembic and SQLAlchemy again, and it meets the modules env.py imported, as the
    version files do in alembic's own process, which imports them after env.py."""
    import threading

    if os.environ.get(SPAWN_VARIABLE, "") not in ("", "0"):
        return False
    return sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1


class _ForkedChild:
    """The load child as a fork of this process, with what ``subprocess.Popen`` gives the
    parent here: its pid, a pipe to its stdin and one from its stdout, poll, wait and kill."""

    def __init__(self, pid: int, stdin: Any, stdout: Any) -> None:
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.returncode: int | None = None

    @classmethod
    def start(cls, control: int | None = None) -> _ForkedChild:
        """Fork the child; ``control``: the read end of a pipe it gets as descriptor 3."""
        request_read, request_write = os.pipe()
        answers_read, answers_write = os.pipe()
        # what the parent has buffered must not be written twice
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            _child_main(request_read, answers_write, control)
        os.close(request_read)
        os.close(answers_write)
        return cls(pid, os.fdopen(request_write, "wb"), os.fdopen(answers_read, "rb"))

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"load child {self.pid}", timeout or 0.0)
            time.sleep(0.01)
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


def _child_main(request_read: int, answers_write: int, control: int | None = None) -> None:
    """In the forked child: a session of its own, default signal handlers, the request on fd 0,
    answers on fd 1, stderr discarded, ``control`` (when given) on fd 3, every other inherited
    descriptor (the database connections among them) closed, then :mod:`load_child`'s loop;
    it ends with ``os._exit`` whatever happens, so no handler of the parent runs twice."""
    try:
        os.setsid()
        for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGPIPE", "SIGUSR1"):
            number = getattr(signal, name, None)
            if number is not None:
                signal.signal(number, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(request_read, 0)
        os.dup2(answers_write, 1)
        os.dup2(devnull, 2)
        if control is not None:
            os.dup2(control, CONTROL_DESCRIPTOR)
        os.closerange(CONTROL_DESCRIPTOR + (control is not None), _max_descriptor())
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
        from migdoctor.project import load_child

        load_child.main()
    finally:
        os._exit(70)


def _max_descriptor() -> int:
    try:
        return int(os.sysconf("SC_OPEN_MAX"))
    except (ValueError, OSError):
        return 4096
