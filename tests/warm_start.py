"""A warm start for the CLI runs of the tests: one process per test worker imports what every run
of ``migdoctor`` and ``python -m alembic`` imports (Python's start, SQLAlchemy, alembic, the
drivers, typer, rich, migdoctor), then forks a child for each run.

:func:`run` is the tests' side, :func:`main` the server's (``python tests/warm_start.py FD``).
A child is the real command in a process of its own: the installed console script, or
``python -m MODULE``, run as ``__main__`` with the run's arguments, folder, environment, standard
input, output and error, its own ``sys.path[0]`` as Python would set it, and Python's own exit
(``atexit`` handlers, threads joined, streams flushed). Only the imports are shared: each run
skips about a third of a second of Python and library start-up, most of the time of a small
command, and the suite runs the CLI thousands of times.

A child differs from a fresh interpreter only in what is already imported, and in not tearing
the imported modules down at its end. Two kinds of run stay on a fresh interpreter (:func:`serves`
decides): commands other than ``migdoctor`` and ``alembic`` (pytest, ``python -c`` probes of
what a command imports), and environments that change how Python itself starts (``PYTHON*``
variables other than the server's). Commands started with ``subprocess.Popen`` (signals,
terminals, runs at once) are fresh interpreters too. ``MIGDOCTOR_TEST_WARM_START=0`` runs every
command on a fresh interpreter. On 2 cores the suite took 10 min 25 s before, 3 min 47 s after.

The protocol, over a Unix socket pair: the test sends one request (a length-prefixed JSON
document, with the run's standard input, output and error as passed descriptors); the server
answers ``started PID`` and, when the child has ended, ``ended STATUS``. One request at a time:
a test worker runs one command at a time through it.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# the commands started warm, as console scripts or ``python -m``; others (pytest, a Flask app)
# start on a fresh interpreter, as what they import is what some tests look at
WARM_COMMANDS = ("migdoctor", "alembic")

# imported once here, not in each child: what the runs of the suite import anyway
WARM_MODULES = (
    "migdoctor.cli",
    "migdoctor.commands",
    "migdoctor.gathering",
    "migdoctor.render",
    "sqlalchemy",
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.mysql",
    "sqlalchemy.dialects.postgresql",
    "sqlalchemy.ext.asyncio",
    "alembic",
    "alembic.config",
    "alembic.command",
    "alembic.script",
    "alembic.runtime.migration",
    "alembic.runtime.environment",
    "alembic.autogenerate",
    "alembic.operations",
    "pymysql",
    "psycopg",
    "typer",
    "rich.console",
    "rich.panel",
    "rich.table",
)
# migdoctor's own modules are all imported, but these: a command's entry, a plugin of pytest's,
# the files of the demo project
_NOT_WARMED = ("migdoctor.__main__", "migdoctor.pytest_plugin", "migdoctor.demo_project")

_LENGTH = struct.Struct("!I")


# the tests' side


class _Server:
    """The warm server of this test worker, started on first use."""

    def __init__(self) -> None:
        self.environment = dict(os.environ, PYTHONHASHSEED="0")  # fixed at a Python's start
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, __file__, str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env=self.environment,
            cwd=Path(__file__).resolve().parent.parent,
        )
        theirs.close()
        self.connection = ours
        self.unread = b""
        if self.line() != "ready":
            raise RuntimeError("the warm-start server of the tests did not start")
        atexit.register(self.stop)

    def stop(self) -> None:
        self.connection.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def line(self) -> str:
        """The server's next line ("" when it has gone); TimeoutError after the connection's
        timeout, with nothing lost."""
        while b"\n" not in self.unread:
            chunk = self.connection.recv(256)
            if not chunk:
                return ""
            self.unread += chunk
        line, _, self.unread = self.unread.partition(b"\n")
        return line.decode()

    def answer(self, expected: str) -> int:
        line = self.line()
        word, _, number = line.partition(" ")
        if word != expected:
            raise RuntimeError(f"the warm-start server of the tests stopped (said {line!r})")
        return int(number)


_server: _Server | None = None


def _python_settings(environment: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in environment.items() if key.startswith("PYTHON")}


def serves(command: list[str], environment: dict[str, str]) -> bool:
    """Whether ``command`` can start warm: the console script or ``python -m``, in an
    environment that does not change how Python itself starts."""
    if os.environ.get("MIGDOCTOR_TEST_WARM_START") == "0" or sys.platform != "linux":
        return False
    if environment.get("PYTHONHASHSEED") != "0":
        return False
    if _python_settings(environment) != _python_settings(dict(os.environ, PYTHONHASHSEED="0")):
        return False
    if len(command) >= 3 and command[0] == sys.executable and command[1] == "-m":
        return command[2] in WARM_COMMANDS
    script = Path(command[0])
    return (
        script.name in WARM_COMMANDS
        and script.parent == Path(sys.executable).parent
        and _is_python_script(command[0])
    )


def _is_python_script(path: str) -> bool:
    try:
        with open(path, "rb") as script:
            first_line = script.readline()
    except OSError:
        return False
    if not first_line.startswith(b"#!"):
        return False
    interpreter = first_line[2:].strip().decode(errors="replace")
    try:
        return os.path.samefile(interpreter, sys.executable)
    except OSError:
        return False


def run(
    command: list[str], cwd: Path, input: str | None, environment: dict[str, str], timeout: float
) -> tuple[int, str, str]:
    """Run ``command`` in a child of the warm server as ``subprocess.run`` with
    ``capture_output=True, text=True`` would: exit code, output and error, as text."""
    global _server
    if _server is None or _server.process.poll() is not None:
        _server = _Server()
    server = _server
    with contextlib.ExitStack() as files:
        stdin, stdout, stderr = (files.enter_context(tempfile.TemporaryFile()) for _ in range(3))
        if input is not None:  # a file, not a pipe: no writer to keep going while it runs
            stdin.write(input.encode())
            stdin.seek(0)
            stdin_fd = stdin.fileno()
        else:
            stdin_fd = os.open(os.devnull, os.O_RDONLY)
        try:
            body = json.dumps({"command": command, "cwd": str(cwd), "env": environment})
            message = _LENGTH.pack(len(body.encode())) + body.encode()
            socket.send_fds(
                server.connection, [message], [stdin_fd, stdout.fileno(), stderr.fileno()]
            )
        finally:
            if input is None:
                os.close(stdin_fd)
        pid = server.answer("started")
        server.connection.settimeout(timeout)
        try:
            exit_code = server.answer("ended")
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            server.connection.settimeout(None)
            server.answer("ended")
            raise subprocess.TimeoutExpired(command, timeout) from None
        finally:
            server.connection.settimeout(None)
        return exit_code, _as_text(stdout), _as_text(stderr)


def _as_text(file: Any) -> str:
    """What ``text=True`` makes of a stream: the locale's encoding, universal newlines."""
    file.seek(0)
    return io.TextIOWrapper(io.BytesIO(file.read())).read()


# the server's side


def _warm_up() -> None:
    import importlib
    import pkgutil

    import migdoctor

    names = [*WARM_MODULES]
    for module in pkgutil.walk_packages(migdoctor.__path__, "migdoctor."):
        if module.name.startswith(_NOT_WARMED):
            continue
        names.append(module.name)
    for name in names:
        # an optional driver not installed: its runs import it themselves
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _receive_exactly(connection: socket.socket, size: int, fds: list[int]) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk, received, _flags, _address = socket.recv_fds(connection, size - len(data), 8)
        fds.extend(received)
        if not chunk:
            return None
        data += chunk
    return data


def _serve(connection: socket.socket) -> tuple[dict[str, Any], list[int]] | None:
    """Answer requests until the test worker goes away (None), or, in a forked child, return
    the request it is to run."""
    while True:
        fds: list[int] = []
        header = _receive_exactly(connection, _LENGTH.size, fds)
        if header is None:
            return None
        body = _receive_exactly(connection, _LENGTH.unpack(header)[0], fds)
        if body is None:
            return None
        request = json.loads(body)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            connection.close()
            return request, fds
        for fd in fds:
            os.close(fd)
        connection.sendall(f"started {pid}\n".encode())
        _pid, status = os.waitpid(pid, 0)
        connection.sendall(f"ended {os.waitstatus_to_exitcode(status)}\n".encode())


def _become(request: dict[str, Any], fds: list[int]) -> None:
    """Turn this forked child into the requested command, as a fresh interpreter would start
    it, and run it; its exit is Python's own (SystemExit unwinds to the interpreter's end)."""
    import random
    import runpy

    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        if fd > 2:
            os.close(fd)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    random.seed()
    command: list[str] = request["command"]
    try:
        if command[0] == sys.executable and command[1] == "-m":
            sys.path[0] = os.getcwd()
            sys.argv = [command[2], *command[3:]]  # run_module puts the module's file first
            runpy.run_module(command[2], run_name="__main__", alter_sys=True)
        else:
            sys.path[0] = os.path.dirname(os.path.realpath(command[0]))
            sys.argv = list(command)
            runpy.run_path(command[0], run_name="__main__")
        code = 0
    except SystemExit as leaving:
        code = _exit_code(leaving.code)
    except KeyboardInterrupt:
        raise  # Python's own exit for it: killed by SIGINT
    except BaseException:  # noqa: BLE001 - as Python does with an uncaught exception
        sys.excepthook(*sys.exc_info())
        code = 1
    _exit(code)


def _exit_code(code: object) -> int:
    """The exit status Python gives ``SystemExit(code)``, printing a message as it does."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _exit(code: int) -> None:
    """End as Python ends (threads joined, ``atexit`` handlers run, streams flushed), without
    tearing down the thousands of modules the server imported: that alone takes a fifth of a
    second, and a fresh interpreter of a small command never has them."""
    import atexit
    import threading

    threading._shutdown()  # type: ignore[attr-defined]  # what Python's exit calls first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120  # Python's status when flushing at exit fails
    os._exit(code)


def main() -> None:
    connection = socket.socket(fileno=int(sys.argv[1]))
    sys.path[0] = ""  # this file's folder is no command's
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C of pytest ends it by closing the pair
    _warm_up()
    import gc

    gc.freeze()  # the warm modules: never collected again, in the server or a child
    connection.sendall(b"ready\n")
    job = _serve(connection)
    if job is not None:
        _become(*job)


if __name__ == "__main__":
    main()
