"""A cache of recorded operations, so that the schema at every revision costs little more than
reading the history once it has been recorded.

Recording a revision means importing its file and running its ``upgrade()``; for a history of a
thousand revisions that is most of what inferring the schema's revision costs. A revision's
recording only changes when its file does, *provided* that nothing else shapes it. So only
self-contained revisions are cached: their file imports nothing but alembic, SQLAlchemy and the
standard library (no application module whose models or constants could change under an
unchanged file), and their ``upgrade()`` asked the database nothing (a guarded revision is
recorded again on every run). Entries are keyed by the file's path, size, modification time and
inode, and the cache file by the dialect and by migdoctor's, alembic's, SQLAlchemy's and
Python's versions; a corrupt or foreign cache is ignored and rebuilt, never trusted.

It lives beside the parse cache (``.migdoctor/cache/``, or the user's cache folder), and
``MIGDOCTOR_NO_CACHE=1`` turns it off too.
"""

from __future__ import annotations

import ast
import hashlib
import os
import pickle
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, overload

from migdoctor import __version__
from migdoctor.facts.operations import RECORDED, RevisionOperations
from migdoctor.project.cache import (
    PROJECT_FOLDER,
    RACY_NANOSECONDS,
    read_checked,
    user_cache_directory,
    write_checked,
)
from migdoctor.project.scripts import RevisionScript

MAGIC = b"migdoctor recording cache\n"
# bump when what a recording holds, or how it is made, changes
CACHE_SCHEMA = 9
# the packages a self-contained revision may import
SELF_CONTAINED = frozenset({"alembic", "sqlalchemy"}) | frozenset(sys.stdlib_module_names)

# path -> (size, mtime_ns, inode, pickled (RevisionOperations without its migrate_operations,
# those pickled apart))
Entry = tuple[int, int, int, bytes]


def _versions(dialect_name: str, context_key: str = "") -> str:
    import alembic
    import sqlalchemy

    described = repr(
        (
            CACHE_SCHEMA,
            __version__,
            alembic.__version__,
            sqlalchemy.__version__,
            sys.version_info[:2],
            pickle.HIGHEST_PROTOCOL,
            dialect_name,
            context_key,
        )
    )
    return hashlib.sha256(described.encode()).hexdigest()[:16]


class RecordingCache:
    """The cached recordings of one project's revisions on one dialect."""

    def __init__(
        self, folders: tuple[Path, ...], name: str, dialect_name: str, context_key: str = ""
    ) -> None:
        self.folders = folders
        self.name = name
        self.version = _versions(dialect_name, context_key)
        self.now_ns = time.time_ns()
        self.loaded: dict[str, Entry] = {}
        for folder in folders:
            entries = self._load(folder / name)
            if entries is not None:
                self.loaded = entries
                break
        self.kept: dict[str, Entry] = {}
        self.changed = False

    @classmethod
    def for_project(
        cls, base_directory: Path, dialect_name: str, context_key: str = ""
    ) -> RecordingCache:
        key = repr((str(base_directory), dialect_name))
        name = f"recordings-{hashlib.sha256(key.encode()).hexdigest()[:16]}.bin"
        folders = (base_directory / PROJECT_FOLDER, user_cache_directory())
        return cls(folders, name, dialect_name, context_key)

    def _load(self, path: Path) -> dict[str, Entry] | None:
        payload = read_checked(path, MAGIC, self.version)
        if payload is None:
            return None
        try:
            entries = pickle.loads(payload)
        except Exception:  # noqa: BLE001 - a cache that cannot be read is rebuilt
            return None
        return entries if isinstance(entries, dict) else None

    def get(self, script: RevisionScript) -> RevisionOperations | None:
        """The cached recording of ``script``'s revision, if its file is unchanged."""
        key = str(script.path)
        entry = self.loaded.get(key)
        if entry is None:
            return None
        try:
            stat = os.stat(script.path)
        except OSError:
            return None
        if entry[:3] != (stat.st_size, stat.st_mtime_ns, stat.st_ino):
            return None
        try:
            recorded, migrate_operations = pickle.loads(entry[3])
        except Exception:  # noqa: BLE001 - e.g. a type whose module is gone: record again
            return None
        if not isinstance(recorded, RevisionOperations) or recorded.revision != script.revision:
            return None
        self.kept[key] = entry
        return replace(recorded, migrate_operations=LazyOperations(migrate_operations))

    def put(self, script: RevisionScript, recorded: RevisionOperations) -> RevisionOperations:
        """Keep a recording when nothing but its file shapes it; the recording, marked
        ``reproducible`` when it was kept."""
        if (
            recorded.method != RECORDED
            or recorded.consulted_database
            or recorded.migrate_operations is None
            or not self_contained(script.path)
        ):
            return recorded
        kept = replace(recorded, reproducible=True)
        try:
            stat = os.stat(script.path)
            # alembic's operation objects apart: a run that needs no replay never unpickles them
            payload = pickle.dumps(
                (
                    replace(kept, migrate_operations=None),
                    pickle.dumps(tuple(recorded.migrate_operations), pickle.HIGHEST_PROTOCOL),
                ),
                protocol=pickle.HIGHEST_PROTOCOL,
            )
        except Exception:  # noqa: BLE001 - an object pickle cannot keep: not cached
            return recorded
        if self.now_ns - stat.st_mtime_ns < RACY_NANOSECONDS:
            return recorded  # a file just written could change again within one clock tick
        self.kept[str(script.path)] = (stat.st_size, stat.st_mtime_ns, stat.st_ino, payload)
        self.changed = True
        return kept

    def save(self) -> None:
        if not self.changed and len(self.kept) == len(self.loaded):
            return
        payload = pickle.dumps(self.kept, protocol=pickle.HIGHEST_PROTOCOL)
        write_checked(self.folders, self.name, MAGIC, self.version, payload)


class LazyOperations(Sequence[Any]):
    """alembic's operation objects of a cached recording, unpickled when first read: most runs
    (a check whose schema-history outcome is kept) never read them, and they are most of what
    unpickling a recording costs."""

    def __init__(self, pickled: bytes) -> None:
        self._pickled: bytes | None = pickled
        self._operations: tuple[Any, ...] = ()

    def _unpickled(self) -> tuple[Any, ...]:
        if self._pickled is not None:
            self._operations = tuple(pickle.loads(self._pickled))
            self._pickled = None
        return self._operations

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        return self._unpickled()[index]

    def __len__(self) -> int:
        return len(self._unpickled())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._unpickled())


def self_contained(path: Path) -> bool:
    """Whether the file imports nothing but alembic, SQLAlchemy and the standard library."""
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # a relative import: the project's own code
                return False
            names = [node.module or ""]
        else:
            continue
        if any(name.split(".")[0] not in SELF_CONTAINED for name in names):
            return False
    return True


def recording_cache(
    base_directory: Path, dialect_name: str, context_key: str = ""
) -> RecordingCache | None:
    """The recordings of a project on a dialect; ``context_key``: what of the migration context
    a recording depends on besides its file (the naming convention alembic names what an
    operation makes by), a change of which records every revision again."""
    from migdoctor.project.cache import cache_disabled

    if cache_disabled():
        return None
    return RecordingCache.for_project(base_directory, dialect_name, context_key)
