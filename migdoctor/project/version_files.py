"""Which files of the version folders are revisions, as alembic finds them.

The files considered, and their order, are alembic's (``Script._list_py_dir`` and
``Script._from_path``): sorted per folder, ``__init__`` and editor droppings skipped,
subfolders only with ``recursive_version_locations``, ``.pyc`` only when ``sourceless``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

_ONLY_SOURCE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")
_SOURCELESS = re.compile(r"(?!\.\#|__init__)(.*\.py)(c|o)?$")


def list_version_files(
    version_locations: Sequence[Path], recursive: bool, sourceless: bool
) -> list[Path]:
    """Every file alembic would load as a revision, in alembic's order, each once, by its
    resolved path (as alembic names it)."""
    seen: set[str] = set()
    found: list[Path] = []
    for location in version_locations:
        if not location.exists():
            continue
        for folder, name, real in _walk_version_folder(location, recursive, sourceless):
            if real in seen:
                continue
            seen.add(real)
            if _is_revision_file_name(folder, name, sourceless):
                found.append(Path(real))
    return found


def _walk_version_folder(
    root: Path, recursive: bool, sourceless: bool
) -> Iterator[tuple[str, str, str]]:
    """(folder, name, resolved path) of each file, in ``Script._list_py_dir``'s order.

    Plain strings, and the folder resolved once: resolving each of 10,000 files costs a system
    call per path component, and a Path object per file costs more than the rest of the walk.
    Only a file that is itself a symbolic link is resolved on its own.
    """
    for folder, dirs, files in os.walk(root, topdown=True):
        if os.path.basename(folder).endswith("__pycache__"):
            continue
        real_folder = os.path.realpath(folder)
        for name in sorted(files):
            path = os.path.join(folder, name)
            real = (
                os.path.realpath(path) if os.path.islink(path) else os.path.join(real_folder, name)
            )
            yield folder, name, real
        if sourceless:
            cache = os.path.join(folder, "__pycache__")
            if os.path.isdir(cache):
                stems = {name.split(".")[0] for name in files}
                for compiled in os.listdir(cache):
                    if compiled.split(".")[0] not in stems:
                        yield cache, compiled, os.path.realpath(os.path.join(cache, compiled))
        if not recursive:
            break
        dirs.sort()


def _is_revision_file_name(folder: str, name: str, sourceless: bool) -> bool:
    match = (_SOURCELESS if sourceless else _ONLY_SOURCE).match(name)
    if not match:
        return False
    if sourceless and match.group(2) in ("c", "o"):
        source = os.path.join(folder, match.group(1))
        compiled = os.path.join(folder, match.group(1) + "c")
        # alembic prefers the .py, and a .pyc over a .pyo
        if os.path.exists(source) or (match.group(2) == "o" and os.path.exists(compiled)):
            return False
    return True
