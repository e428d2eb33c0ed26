"""The child process that imports version files for :mod:`migdoctor.project.isolated_import`.

Run as a script (``python load_child.py``): it imports nothing of migdoctor, so the project's
files meet only what alembic's own process would have (the interpreter, ``sys.path`` as the
parent gives it, the environment). On Linux the parent forks itself instead and calls
:func:`main` in the fork (:func:`migdoctor.project.isolated_import._can_fork`): the files then
meet the modules env.py imported, as in alembic's process, which imports them after env.py.

It reads one JSON request on stdin (``sys_path``, ``files``), then imports each file the way
alembic's ``load_python_file`` does and writes one JSON line per file on a private copy of the
original stdout. Whatever the files print goes to stderr (which the parent discards), and
stdin is empty by then, so a file that asks for input gets end-of-file instead of waiting.
A file that exits the process (``os._exit``) or hangs is told apart by the parent: the line of
that file never comes.
"""

from __future__ import annotations

import faulthandler
import importlib.util
import json
import os
import re
import signal
import sys
import traceback
from collections.abc import Iterator
from typing import Any

HEADER_NAMES = ("revision", "down_revision", "branch_labels", "depends_on")


def _load(path: str) -> Any:
    """alembic's ``util.pyfiles.load_python_file`` for one file (``.py``, ``.pyc``)."""
    module_id = re.sub(r"\W", "_", os.path.basename(path))
    spec = importlib.util.spec_from_file_location(module_id, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"Can't find Python file {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _plain(value: Any) -> Any:
    """A header value as JSON keeps it: sequences as lists, anything else JSON has no word
    for as its repr (the parent then says the value is not an id)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(item) for item in value]
    return {"repr": repr(value)}


def _header(module: Any) -> dict[str, Any]:
    values = {name: _plain(getattr(module, name)) for name in HEADER_NAMES if hasattr(module, name)}
    doc = module.__doc__
    return {"values": values, "doc": doc if isinstance(doc, str) else ""}


def _same_file(a: str | None, b: str) -> bool:
    if not a:
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a == b


def _outcome(index: int, path: str, error: BaseException) -> dict[str, Any]:
    """What the parent needs to name the failure: type, message, line in the file, and the
    module that could not be found."""
    line = None
    statement = None
    if isinstance(error, SyntaxError) and _same_file(error.filename, path):
        line = error.lineno
    for frame in traceback.extract_tb(error.__traceback__):
        if _same_file(frame.filename, path):
            line, statement = frame.lineno, frame.line
    text = str(error).strip().splitlines()
    missing = getattr(error, "name", None) if isinstance(error, ImportError) else None
    if isinstance(error, SyntaxError):
        text = [error.msg]
    if isinstance(error, SystemExit):
        text = [f"sys.exit({error.code!r}) was called while the file was imported"]
    return {
        "index": index,
        "type": type(error).__name__,
        "message": text[0] if text else "",
        "line": line,
        "statement": statement,
        "missing": missing if isinstance(missing, str) else None,
    }


def _loaded_files() -> list[str]:
    files = set()
    for module in list(sys.modules.values()):
        location = getattr(module, "__file__", None)
        if isinstance(location, str):
            files.add(location)
    return sorted(files)


# a streamed child (``isolated_import.ImportStream``) is told on this descriptor, one byte per
# file of the request, whether to import it ("+") or not ("-"); end of file ends the list
CONTROL_DESCRIPTOR = 3


def _told(candidates: list[str]) -> Iterator[str]:
    """The candidates the parent says to import, as it says so."""
    told = b""
    at = 0
    for path in candidates:
        if at == len(told):
            try:
                told = os.read(CONTROL_DESCRIPTOR, 65536)
            except OSError:
                return
            if not told:
                return
            at = 0
        if told[at] == ord("+"):
            yield path
        at += 1


def main() -> None:
    request = json.loads(sys.stdin.read())
    # stdin: end-of-file from now on; stdout: only the answers, anything printed goes to stderr
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    if request.get("dump") and hasattr(signal, "SIGUSR1"):  # not on Windows
        # on the parent's signal, where a file hangs: its line, for the report
        dump = open(request["dump"], "w")  # noqa: SIM115 - open until the process ends
        faulthandler.register(signal.SIGUSR1, file=dump, all_threads=False)
    sys.path[:] = request["sys_path"]
    sys.dont_write_bytecode = True  # a check writes nothing into the project
    # a child forked from migdoctor's process reports every module loaded (those its parent
    # had too: a version file may use them, and the cache must notice when one changes)
    before = set() if request.get("all_loaded") else set(_loaded_files())
    # alembic's process has these loaded before it imports a version file: importing them
    # here keeps their cost out of the first file's time limit
    for name in ("sqlalchemy", "alembic.op"):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - then the version files will say so
            continue
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    files = _told(request["files"]) if request.get("streamed") else request["files"]
    for index, path in enumerate(files):
        try:
            module = _load(path)
            answer: dict[str, Any] = {"index": index}
            if request.get("headers"):
                answer["header"] = _header(module)
        except BaseException as error:  # whatever the file raises is the answer
            if isinstance(error, KeyboardInterrupt):
                raise
            answer = _outcome(index, path, error)
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    loaded = [f for f in _loaded_files() if f not in before]
    answers.write(json.dumps({"loaded": loaded}) + "\n")
    answers.flush()
    os._exit(0)  # no atexit handler or thread of the imported code may keep the process alive


if __name__ == "__main__":
    main()
