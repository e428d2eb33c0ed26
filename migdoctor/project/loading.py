"""Load every version file as alembic will, before calling the history loadable.

alembic imports every file of the version folders before it runs anything (its revision map),
so a revision whose header reads fine but whose imports fail (a package that is not installed,
a ``NameError`` or any exception at module level, ``sys.exit()``, an import that never ends)
stops ``alembic upgrade`` for everyone. Reading headers from the syntax tree cannot see that;
only importing the file can.

The files are imported in one child process (:mod:`migdoctor.project.load_child`) with the
``sys.path`` alembic's process would have, one after the other as alembic does, so that a file
that hangs or ends the process can neither hang nor end migdoctor: each file has
``MIGDOCTOR_IMPORT_TIMEOUT`` seconds (default 15), after which the child is killed and the
remaining files are imported by a new one; a file that ends the child is named the same way.
The same child reads the headers that are not literal (:func:`import_headers`), for ``heads``
and ``history`` too. A timed-out import is never cached: a lock or the network may be free on
the next run.

The answers are cached (``loads-*.bin`` beside the header cache), per Python environment (the
interpreter, ``sys.path``, the working folder): an entry holds each file's answer with the
file's size, modification time and inode, and the size and modification time of every module
the imports loaded and of the folders they were found in (and of every folder on ``sys.path``,
which an installed or removed package changes). When one of those changed, every file is
imported again; otherwise only the files that changed are. ``MIGDOCTOR_NO_CACHE=1`` turns the
cache off.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migdoctor import __version__
from migdoctor.project.cache import (
    PROJECT_FOLDER,
    RACY_NANOSECONDS,
    _write_atomically,
    cache_disabled,
    user_cache_directory,
)
from migdoctor.project.requirements import find_declarations
from migdoctor.project.scripts import RevisionScript, ScriptLoadError, script_from_imported

TIMEOUT_VARIABLE = "MIGDOCTOR_IMPORT_TIMEOUT"
DEFAULT_TIMEOUT = 15.0
HANG = "TimeoutError"
PROCESS_EXIT = "ProcessExit"
# what the child may take to start and import alembic and SQLAlchemy, on a busy machine
STARTUP_SECONDS = 30.0
CHILD = Path(__file__).with_name("load_child.py")
MAGIC = b"migdoctor load cache 2\n"

# a file's answer: None when it imports, else
# (type, message, line, statement, missing module)
Answer = tuple[str, str, int | None, str | None, str | None] | None

Signature = tuple[int, int, int]
# how a child stopped before answering for every file: (kind, why, line in the file)
Stopped = tuple[str, str, int | None]


@dataclass(frozen=True)
class LoadCheck:
    """What importing the version files told: the files that fail, and, when the files could
    not be imported at all, why (then nothing is known about them)."""

    errors: tuple[ScriptLoadError, ...]
    not_checked: str | None = None


def stops_the_process(error: ScriptLoadError) -> bool:
    """Whether importing the file hangs or ends the process that imports it."""
    return error.message.startswith((f"{HANG}:", f"{PROCESS_EXIT}:"))


def import_timeout() -> float:
    try:
        value = float(os.environ.get(TIMEOUT_VARIABLE, "") or DEFAULT_TIMEOUT)
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def check_loading(
    scripts: Sequence[RevisionScript],
    base_directory: Path,
    sys_path: Sequence[str],
    shown_from: Path | None = None,
    signatures: Mapping[str, Signature] | None = None,
) -> LoadCheck:
    """Import each script's file (through the cache); the files that fail, in file order."""
    paths = [str(script.path) for script in scripts]
    if not paths:
        return LoadCheck(())
    cache = (
        None
        if cache_disabled()
        else LoadCache.for_project(base_directory, _environment_key(sys_path))
    )
    answers: dict[str, Answer] = {}
    if cache is not None:
        answers = cache.answers(paths, signatures or {})
    missing = [path for path in paths if path not in answers]
    if missing:
        imported, loaded, failure = import_in_child(missing, sys_path, import_timeout())
        if failure is not None:
            return LoadCheck((), failure)
        answers.update(imported)
        if cache is not None:
            cache.store(paths, answers, loaded, sys_path)
    errors = [
        _load_error(Path(path), answer) for path in paths if (answer := answers[path]) is not None
    ]
    if any(error.missing_module for error in errors):
        declarations = find_declarations(base_directory, shown_from)
        read = tuple(_relative(path, shown_from) for path in declarations.files)
        errors = [
            error
            if error.missing_module is None
            else _with_declarations(error, declarations.where(error.missing_module), read)
            for error in errors
        ]
    return LoadCheck(tuple(errors))


def _with_declarations(
    error: ScriptLoadError, where: tuple[str, ...], read: tuple[str, ...]
) -> ScriptLoadError:
    from dataclasses import replace

    return replace(error, declared_in=where, declarations_read=read)


def _relative(path: Path, base: Path | None) -> str:
    if base is None:
        return str(path)
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _load_error(
    path: Path, answer: tuple[str, str, int | None, str | None, str | None]
) -> ScriptLoadError:
    kind, message, line, statement, missing = answer
    return ScriptLoadError(
        path,
        f"{kind}: {message}" if message else kind,
        line,
        imported=True,
        statement=statement,
        missing_module=missing,
    )


def import_headers(
    paths: Sequence[Path], sys_path: Sequence[str]
) -> dict[Path, RevisionScript | ScriptLoadError]:
    """The headers of files whose header is not literal, read by importing them in one child
    (a file that hangs or exits can then neither hang nor end migdoctor)."""
    headers: dict[str, Any] = {}
    answers, _, failure = import_in_child(
        [str(path) for path in paths], sys_path, import_timeout(), headers
    )
    read: dict[Path, RevisionScript | ScriptLoadError] = {}
    for path in paths:
        answer = answers.get(str(path))
        header = headers.get(str(path))
        if failure is not None:
            read[path] = ScriptLoadError(path, failure)
        elif answer is not None:
            kind, message, line, _, _ = answer
            read[path] = ScriptLoadError(path, f"{kind}: {message}" if message else kind, line)
        elif isinstance(header, dict):
            values = {
                name: _from_plain(value) for name, value in dict(header.get("values", {})).items()
            }
            read[path] = script_from_imported(path, values, str(header.get("doc") or ""))
        else:
            read[path] = ScriptLoadError(path, "the file could not be imported")
    return read


class _Unsupported:
    """A header value the child could only describe (not an id, whatever it is)."""

    def __init__(self, described: str) -> None:
        self.described = described

    def __repr__(self) -> str:
        return self.described


def _from_plain(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_from_plain(item) for item in value)
    if isinstance(value, dict):
        return _Unsupported(str(value.get("repr", value)))
    return value


# the child process ----------------------------------------------------------------------


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
    request = json.dumps(
        {
            "sys_path": list(sys_path),
            "files": files,
            "dump": str(dump),
            "headers": headers is not None,
        }
    ).encode()
    try:
        child = subprocess.Popen(
            [sys.executable, str(CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C is migdoctor's; the child is ended below
        )
    except OSError as error:
        return {}, [], ("start", f"the version files could not be imported ({error})", None)
    answers: dict[int, Answer] = {}
    loaded: list[str] = []
    ready = False
    try:
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write(request)
            child.stdin.close()
        except BrokenPipeError:
            pass
        ended: list[bool] = []
        for line in _lines(child.stdout, timeout, ended, first=timeout + STARTUP_SECONDS):
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


def _where_it_hangs(child: subprocess.Popen[bytes], dump: Path, path: str | None) -> int | None:
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


def _lines(stream: Any, timeout: float, ended: list[bool], first: float) -> Iterator[bytes]:
    """The child's answer lines; stops at end of file (then ``ended`` gets True), or when no
    line came for ``timeout`` seconds (``first`` for the first line)."""
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    pending = b""
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


def _end(child: subprocess.Popen[bytes]) -> None:
    """End the child and whatever it started (its own process group)."""
    if child.poll() is None:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, AttributeError):
            child.kill()
    child.wait()
    if child.stdout is not None:
        child.stdout.close()


# the cache ------------------------------------------------------------------------------


def _environment_key(sys_path: Sequence[str]) -> str:
    described = repr((sys.executable, sys.version, os.getcwd(), list(sys_path)))
    return hashlib.sha256(described.encode()).hexdigest()[:16]


def _signature(path: str) -> Signature | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino)


class LoadCache:
    """The cached import answers of one project's version files in one Python environment.

    The file holds two parts: a small one (a digest of every file's path and signature, the
    answers of the files that fail, the modules and folders the answers depend on), read on
    every run, and the signature of each file, read only when the digest differs (a file was
    added or changed: the others keep their answers). A warm run over 10,000 unchanged files
    thus reads a few hundred bytes and hashes the signatures the header cache already took.
    """

    def __init__(self, folders: Sequence[Path], name: str) -> None:
        self.folders = tuple(folders)
        self.name = name
        self.summary: dict[str, Any] = {}
        self._files_payload = b""
        for folder in self.folders:
            if self._load(folder / name):
                break

    @classmethod
    def for_project(cls, base_directory: Path, environment: str) -> LoadCache:
        key = repr((str(base_directory), __version__, environment))
        name = f"loads-{hashlib.sha256(key.encode()).hexdigest()[:16]}.bin"
        return cls((base_directory / PROJECT_FOLDER, user_cache_directory()), name)

    def _load(self, path: Path) -> bool:
        try:
            data = path.read_bytes()
        except OSError:
            return False
        if not data.startswith(MAGIC):
            return False
        header, newline, rest = data[len(MAGIC) :].partition(b"\n")
        try:
            checksum, size_text = header.decode().split()
            size = int(size_text)
        except ValueError:
            return False
        if not newline or checksum != f"{zlib.crc32(rest):08x}":
            return False
        try:
            summary = marshal.loads(rest[:size])
        except (ValueError, EOFError, TypeError):
            return False
        if not isinstance(summary, dict):
            return False
        self.summary, self._files_payload = summary, rest[size:]
        return True

    def answers(self, paths: Sequence[str], known: Mapping[str, Signature]) -> dict[str, Answer]:
        """The cached answers still true for ``paths`` (files changed since are left out);
        ``known``: signatures already read (the header cache's)."""
        if not self.summary or not self._still_true(self.summary):
            return {}
        signatures = [known.get(path) or _signature(path) for path in paths]
        failed = self.summary.get("failed", {})
        if not isinstance(failed, dict):
            return {}
        if self.summary.get("digest") == _digest(paths, signatures):
            return {path: failed.get(path) for path in paths}
        try:
            files = marshal.loads(self._files_payload)
        except (ValueError, EOFError, TypeError):
            return {}
        if not isinstance(files, dict):
            return {}
        return {
            path: failed.get(path)
            for path, signature in zip(paths, signatures, strict=True)
            if signature is not None and files.get(path) == signature
        }

    @staticmethod
    def _still_true(summary: dict[str, Any]) -> bool:
        """Whether every module the imports loaded, and every folder where a module could
        appear, is as it was."""
        modules = summary.get("modules", {})
        folders = summary.get("folders", {})
        if not isinstance(modules, dict) or not isinstance(folders, dict):
            return False
        for path, signature in modules.items():
            if _signature(path) != signature:
                return False
        for path, mtime in folders.items():
            try:
                if os.stat(path).st_mtime_ns != mtime:
                    return False
            except OSError:
                if mtime is not None:
                    return False
        return True

    def store(
        self,
        paths: Sequence[str],
        answers: dict[str, Answer],
        loaded: Sequence[str],
        sys_path: Sequence[str],
    ) -> None:
        """Keep ``answers`` with what makes them true; a file or module changed in the last two
        seconds is not kept (its time may not tell the next change), nor a hang (a lock or the
        network may be gone next time)."""
        racy = time.time_ns() - RACY_NANOSECONDS
        modules: dict[str, Signature] = {}
        if self.summary and self._still_true(self.summary):
            modules.update(self.summary.get("modules", {}))
        for path in loaded:
            signature = _signature(path)
            if signature is not None:
                modules[path] = signature
        if any(signature[1] >= racy for signature in modules.values()):
            return
        folders: dict[str, int | None] = {}
        for folder in {os.path.dirname(path) for path in modules} | {
            os.path.abspath(entry or ".") for entry in sys_path
        }:
            try:
                folders[folder] = os.stat(folder).st_mtime_ns
            except OSError:
                folders[folder] = None
        files: dict[str, Signature] = {}
        failed: dict[str, Answer] = {}
        for path in paths:
            answer = answers.get(path)
            signature = _signature(path)
            if signature is None or signature[1] >= racy:
                continue
            if answer is not None and answer[0] == HANG:
                continue
            files[path] = signature
            if answer is not None:
                failed[path] = answer
        kept = [path for path in paths if path in files]
        summary = marshal.dumps(
            {
                "digest": _digest(kept, [files[path] for path in kept])
                if len(kept) == len(paths)
                else None,
                "failed": failed,
                "modules": modules,
                "folders": folders,
            }
        )
        rest = summary + marshal.dumps(files)
        data = MAGIC + f"{zlib.crc32(rest):08x} {len(summary)}\n".encode() + rest
        for place in self.folders:
            try:
                _write_atomically(place, self.name, data)
            except OSError:
                continue
            return


def _digest(paths: Sequence[str], signatures: Sequence[Signature | None]) -> str:
    """One digest of every file's path and signature, in order."""
    return hashlib.sha256(marshal.dumps((list(paths), list(signatures)))).hexdigest()
