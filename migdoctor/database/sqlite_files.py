"""The files of a SQLite database migdoctor knows: the database file a connection uses, and the
lock file standing for the migration lock (SQLite itself cannot say who holds its locks), with
the marks its holder writes in it."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def sqlite_file(connection: Connection) -> str | None:
    database = connection.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return str(Path(database).absolute())


def sqlite_lock_file(path: str) -> Path:
    digest = hashlib.sha1(path.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"migdoctor-{digest}.lock"


def sqlite_marks(lock_path: Path) -> dict[str, Any]:
    try:
        text = lock_path.read_text().strip()
    except OSError:
        return {}
    try:
        marks = json.loads(text or "{}")
    except ValueError:  # an older migdoctor wrote plain words
        return {"words": text}
    return marks if isinstance(marks, dict) else {}


def sqlite_holder(lock_path: Path) -> str:
    marks = sqlite_marks(lock_path)
    if "process" not in marks:
        return str(marks.get("words") or "another process")
    return f"process {marks['process']}, {marks.get('purpose') or 'a run'}"
