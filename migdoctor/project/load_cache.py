"""The cache of the answers of importing the version files.

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
import marshal
import os
import sys
import time
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from migdoctor import __version__
from migdoctor.project.cache import (
    PROJECT_FOLDER,
    RACY_NANOSECONDS,
    user_cache_directory,
    write_cache_file,
)
from migdoctor.project.isolated_import import HANG, Answer

MAGIC = b"migdoctor load cache 2\n"

Signature = tuple[int, int, int]


def environment_key(sys_path: Sequence[str]) -> str:
    # an entry met again later changes nothing an import finds (the first one wins), and an
    # env.py that appends its folder on each run (most do) must not make each run a new key
    entries = list(dict.fromkeys(sys_path))
    described = repr((sys.executable, sys.version, os.getcwd(), entries))
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
        self._holds: bool | None = None
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

    def holds(self) -> bool:
        """Whether the cache may answer for some files: it was read, and every module and
        folder its answers depend on is as it was."""
        if self._holds is None:
            self._holds = bool(self.summary) and self._still_true(self.summary)
        return self._holds

    def answers(self, paths: Sequence[str], known: Mapping[str, Signature]) -> dict[str, Answer]:
        """The cached answers still true for ``paths`` (files changed since are left out);
        ``known``: signatures already read (the header cache's)."""
        if not self.holds():
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
                write_cache_file(place, self.name, data)
            except OSError:
                continue
            return


def _digest(paths: Sequence[str], signatures: Sequence[Signature | None]) -> str:
    """One digest of every file's path and signature, in order."""
    return hashlib.sha256(marshal.dumps((list(paths), list(signatures)))).hexdigest()
