"""How the migration lock and the marks beside it are named on each server.

The lock is named after the database and the version table; each mark (what the holder is
doing, the revision running) is a lock of its own beside it: a named lock on MySQL/MariaDB, an
advisory lock of its own class on PostgreSQL, so that another session can read them without
waiting.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


POSTGRES_LOCK_CLASS = 0x6D64  # "md"
POSTGRES_MARK_CLASS = 0x6D65  # the marks beside the lock
# what a run holding the lock may be doing (one mark each, read back by check)
PURPOSES = ("upgrade", "downgrade", "stamp", "fix", "undo")


def lock_name(connection: Connection, version_table: str, schema: str | None) -> str:
    database = connection.engine.url.database or ""
    qualified = f"{schema}.{version_table}" if schema else version_table
    name = f"migdoctor:{database}:{qualified}"
    if len(name) > 64:  # MySQL's limit for lock names
        name = "migdoctor:" + hashlib.sha1(name.encode()).hexdigest()
    return name


def mark_name(name: str, kind: str, value: str) -> str:
    mark = f"md:{hashlib.sha1(name.encode()).hexdigest()[:16]}:{kind[0]}:{value}"
    if len(mark) > 64:  # MySQL's limit for lock names
        mark = mark[:40] + hashlib.sha1(mark.encode()).hexdigest()[:24]
    return mark


def crc(text: str) -> int:
    return zlib.crc32(text.encode()) & 0x7FFFFFFF


def postgres_keys(name: str) -> tuple[int, int]:
    return POSTGRES_LOCK_CLASS, crc(name)
