"""A cache of revision headers, so that a history of thousands of revisions is read in
milliseconds rather than seconds.

Parsing is most of what reading a project costs (10,000 revision files take over a second), and
a header only changes when its file does. Each entry is keyed by the file's path, size,
modification time (ns) and inode, and holds what the file's text alone says: its header, the
error that makes it unreadable (a syntax error, say), or "only importing tells" (a computed
header). A header read by *importing* its file is never cached: its values may depend on
anything the import touches (settings, environment, other modules), none of which the file's
stat covers. Only the fact that the file needs importing is kept, and it is imported again on
every run, exactly as without a cache.

The cache is a single marshal file (the quickest format Python loads: 10,000 entries in a few
milliseconds, against three times that for JSON) under ``.migdoctor/cache/`` beside the Alembic
config, or in the user's cache folder when that is not writable. Its header carries a format
version derived from the fields of :class:`RevisionScript` and :class:`ScriptLoadError` (a new
field invalidates old caches by itself), from migdoctor's and Python's versions, and a checksum
of the content: a cache that is corrupt, stale or written by another version is ignored and
rebuilt, never trusted. Writes go to a temporary file renamed over the old one, so a reader
never sees half a cache. As git does for its index, a file modified in the last two seconds is
not cached: a file system clock with coarse ticks would give a same-size rewrite within one tick
the same modification time.

``MIGDOCTOR_NO_CACHE=1`` turns the cache off (nothing read, nothing written).
"""

from __future__ import annotations

import dataclasses
import hashlib
import marshal
import os
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from migdoctor import __version__
from migdoctor.files import keep_out_of_version_control, write_atomically
from migdoctor.project.scripts import (
    RevisionScript,
    ScriptLoadError,
    completed_by_import,
    read_header_statically,
    unreadable,
)

# bump when the way a header is read from the syntax tree changes
CACHE_SCHEMA = 1
MAGIC = b"migdoctor header cache\n"
DISABLE_VARIABLE = "MIGDOCTOR_NO_CACHE"
PROJECT_FOLDER = Path(".migdoctor") / "cache"
RACY_NANOSECONDS = 2_000_000_000

_SCRIPT, _ERROR, _IMPORT = "script", "error", "import"
_PLAIN_TYPES = (str, int, float, bool, bytes, type(None))

# (size, mtime_ns, inode, kind, payload)
Entry = tuple[int, int, int, str, Any]
# a header as the file's text tells it (None: only importing the file tells)
Header = RevisionScript | ScriptLoadError | None
# a header read, and whether it may be cached (not when the file could not be read)
Read = tuple[Header, bool]
_MISSED = object()


def read_statically(path: Path) -> Read:
    """The header the file's text tells, and whether it may be cached: a file that cannot be
    read is unreadable, and read again next time."""
    try:
        return read_header_statically(path), True
    except OSError as error:
        return unreadable(path, error), False


def _read_each(paths: Sequence[Path]) -> list[Read]:
    return [read_statically(path) for path in paths]


def _payload_fields(cls: type[Any]) -> tuple[str, ...]:
    """The fields an entry stores: all but the path, which is the entry's key."""
    return tuple(field.name for field in dataclasses.fields(cls) if field.name != "path")


def _path_index(cls: type[Any]) -> int:
    return [field.name for field in dataclasses.fields(cls)].index("path")


SCRIPT_FIELDS = _payload_fields(RevisionScript)
ERROR_FIELDS = _payload_fields(ScriptLoadError)
# entries are built positionally (a keyword dict per entry costs a third of a warm read)
SCRIPT_PATH_INDEX = _path_index(RevisionScript)
ERROR_PATH_INDEX = _path_index(ScriptLoadError)


def format_version(
    script_class: type[Any] = RevisionScript, error_class: type[Any] = ScriptLoadError
) -> str:
    """Changes whenever a cache written before could mean something else now: a field added to
    (or renamed in, or retyped in) the classes an entry is made of changes it by itself."""
    described = repr(
        (
            CACHE_SCHEMA,
            __version__,
            sys.version_info[:2],
            marshal.version,
            [(field.name, str(field.type)) for field in dataclasses.fields(script_class)],
            [(field.name, str(field.type)) for field in dataclasses.fields(error_class)],
        )
    )
    return hashlib.sha256(described.encode()).hexdigest()[:16]


def cache_disabled() -> bool:
    return os.environ.get(DISABLE_VARIABLE, "") not in ("", "0")


def user_cache_directory() -> Path:
    """The platform's per-user cache folder for migdoctor."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    return base / "migdoctor"


class HeaderCache:
    """The cached headers of one project's version files; :meth:`read` reads one file through
    it, :meth:`save` writes what changed."""

    def __init__(self, folders: Sequence[Path], name: str) -> None:
        self.folders = tuple(folders)
        self.name = name
        self.version = format_version()
        self.now_ns = time.time_ns()
        self.loaded: dict[str, Any] = {}
        self.loaded_from: Path | None = None
        for folder in self.folders:
            entries = self._load(folder / name)
            if entries is not None:
                self.loaded, self.loaded_from = entries, folder / name
                break
        self.kept: dict[str, Entry] = {}
        # each file's (size, mtime_ns, inode) as read: the import check's cache is keyed by it
        # too, and a second stat of 10,000 files would cost a tenth of a warm check
        self.signatures: dict[str, tuple[int, int, int]] = {}
        self.hits = 0
        self.misses = 0
        self._changed = False

    @classmethod
    def for_project(
        cls, base_directory: Path, version_locations: Sequence[Path], recursive: bool
    ) -> HeaderCache:
        """The cache of a project: one file per set of version locations, in the project's
        ``.migdoctor/cache`` or else the user's cache folder."""
        key = repr((str(base_directory), [str(p) for p in version_locations], recursive))
        name = f"headers-{hashlib.sha256(key.encode()).hexdigest()[:16]}.bin"
        return cls((base_directory / PROJECT_FOLDER, user_cache_directory()), name)

    # reading ----------------------------------------------------------------------------

    def _load(self, path: Path) -> dict[str, Any] | None:
        payload = read_checked(path, MAGIC, self.version)
        if payload is None:
            return None
        try:
            entries = marshal.loads(payload)
        except (ValueError, EOFError, TypeError):
            return None
        return entries if isinstance(entries, dict) else None

    def read(self, path: Path) -> RevisionScript | ScriptLoadError:
        """The header of ``path``, from the cache when the file is unchanged."""
        return completed_by_import(path, self.read_header(path))

    def read_header(self, path: Path) -> RevisionScript | ScriptLoadError | None:
        """As :meth:`read`, but None when only importing the file tells its header (the caller
        imports it: ``loading.import_headers`` does so in a child process)."""
        return self.read_headers([path])[0]

    def read_headers(
        self,
        paths: Sequence[Path],
        read_all: Callable[[Sequence[Path]], list[Read]] | None = None,
    ) -> list[Header]:
        """:meth:`read_header` of each path; the files the cache does not hold are read by
        ``read_all`` (:func:`read_statically` of each, by default one after the other)."""
        headers: list[Header] = []
        missed: list[int] = []
        for path in paths:
            found = self._cached(path)
            if found is _MISSED:
                missed.append(len(headers))
            headers.append(found)
        if not missed:
            return headers
        read = (read_all or _read_each)([paths[index] for index in missed])
        for index, (header, cacheable) in zip(missed, read, strict=True):
            if cacheable:
                self._remember(paths[index], header)
            headers[index] = header
        return headers

    def _cached(self, path: Path) -> Any:
        """The header the cache holds for ``path`` (None: only importing tells), or
        ``_MISSED``; a file that cannot be stat'ed is unreadable."""
        key = str(path)
        try:
            stat = os.stat(path)
        except OSError as error:
            return unreadable(path, error)
        signature = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
        self.signatures[key] = signature
        entry = self.loaded.get(key)
        if type(entry) is tuple and len(entry) == 5 and entry[:3] == signature:
            header = self._decode(path, entry[3], entry[4])
            if header is not None:
                self.hits += 1
                self.kept[key] = entry
                return None if header is _IMPORT else header
        self.misses += 1
        return _MISSED

    def _remember(self, path: Path, read: Header) -> None:
        """Keep what was read of a file the cache did not hold."""
        signature = self.signatures[str(path)]
        stored = self._encode(signature, read)
        if stored is not None and signature[1] < self.now_ns - RACY_NANOSECONDS:
            self.kept[str(path)] = stored
            self._changed = True

    @staticmethod
    def _decode(path: Path, kind: Any, payload: Any) -> Any:
        """The entry's header, ``_IMPORT``, or None when the entry does not make sense."""
        if kind == _IMPORT:
            return _IMPORT
        fields = SCRIPT_FIELDS if kind == _SCRIPT else ERROR_FIELDS if kind == _ERROR else None
        if fields is None or type(payload) is not tuple or len(payload) != len(fields):
            return None
        if kind == _SCRIPT:
            values = (*payload[:SCRIPT_PATH_INDEX], path, *payload[SCRIPT_PATH_INDEX:])
            cls: type[RevisionScript | ScriptLoadError] = RevisionScript
        else:
            values = (*payload[:ERROR_PATH_INDEX], path, *payload[ERROR_PATH_INDEX:])
            cls = ScriptLoadError
        try:
            return cls(*values)
        except TypeError:
            return None

    @staticmethod
    def _encode(
        signature: tuple[int, int, int], read: RevisionScript | ScriptLoadError | None
    ) -> Entry | None:
        """The entry for what was read; None when it holds a value marshal cannot keep
        exactly (a field added later with a richer type: that file is then read every time)."""
        if read is None:
            return (*signature, _IMPORT, None)
        kind, fields = (
            (_SCRIPT, SCRIPT_FIELDS) if isinstance(read, RevisionScript) else (_ERROR, ERROR_FIELDS)
        )
        payload = tuple(getattr(read, name) for name in fields)
        if not all(_plain(value) for value in payload):
            return None
        return (*signature, kind, payload)

    # writing ----------------------------------------------------------------------------

    @property
    def changed(self) -> bool:
        return self._changed or len(self.kept) != len(self.loaded)

    def save(self) -> Path | None:
        """Write the entries of this run's files if anything changed; where it was written
        (None when nothing needed writing or no folder was writable)."""
        if not self.changed:
            return None
        return write_checked(self.folders, self.name, MAGIC, self.version, marshal.dumps(self.kept))


def read_checked(path: Path, magic: bytes, version: str) -> bytes | None:
    """The payload of a cache file written by ``write_checked`` with this magic and version,
    or None when it is missing, foreign, stale or corrupt (a cache is never trusted blindly)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    header = magic + version.encode() + b"\n"
    if not data.startswith(header):
        return None
    checksum, newline, payload = data[len(header) :].partition(b"\n")
    if not newline or checksum != f"{zlib.crc32(payload):08x}".encode():
        return None
    return payload


def write_checked(
    folders: Sequence[Path], name: str, magic: bytes, version: str, payload: bytes
) -> Path | None:
    """Write a cache file (magic, version, checksum, payload) into the first folder that takes
    it, atomically; where it went, or None when no folder was writable."""
    data = magic + version.encode() + b"\n" + f"{zlib.crc32(payload):08x}".encode() + b"\n"
    for folder in folders:
        try:
            write_cache_file(folder, name, data + payload)
        except OSError:
            continue
        return folder / name
    return None


def _plain(value: object) -> bool:
    """Whether marshal keeps ``value`` exactly (subclasses such as enums it would not)."""
    if type(value) in _PLAIN_TYPES:
        return True
    if isinstance(value, (tuple, frozenset)) and type(value) in (tuple, frozenset):
        return all(_plain(item) for item in value)
    return False


def write_cache_file(folder: Path, name: str, data: bytes) -> None:
    """Write a cache file into ``folder`` (made if needed; the project's own cache folder is
    kept out of its version control), atomically."""
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        if folder.parts[-2:] == PROJECT_FOLDER.parts:
            keep_out_of_version_control(folder)
    write_atomically(folder / name, data, durable=False)
