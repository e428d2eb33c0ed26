"""Which lock each operation takes on each database, and what that lock blocks: data, in one
place, with the documentation it comes from.

PostgreSQL: "Explicit Locking", table-level lock modes and the statements that take them
(https://www.postgresql.org/docs/current/explicit-locking.html) and the ALTER TABLE page
(https://www.postgresql.org/docs/current/sql-altertable.html: "most forms of ALTER TABLE take
ACCESS EXCLUSIVE"; ADD FOREIGN KEY takes SHARE ROW EXCLUSIVE), CREATE INDEX
(https://www.postgresql.org/docs/current/sql-createindex.html: SHARE, or SHARE UPDATE EXCLUSIVE
with CONCURRENTLY) and DROP INDEX (ACCESS EXCLUSIVE, SHARE UPDATE EXCLUSIVE with CONCURRENTLY).

MySQL 8.0 / MariaDB (InnoDB): "Online DDL Operations"
(https://dev.mysql.com/doc/refman/8.0/en/innodb-online-ddl-operations.html) and MariaDB's
"InnoDB Online DDL Operations" (https://mariadb.com/kb/en/innodb-online-ddl-overview/): index
builds, adding a column (INSTANT), dropping or renaming one and changing nullability run in
place and permit concurrent reads and writes (after a brief exclusive metadata lock); a column
type change copies the table (``ALGORITHM=COPY``: concurrent writes blocked); dropping or
renaming a table takes an exclusive metadata lock.

SQLite: "File Locking And Concurrency" (https://www.sqlite.org/lockingv3.html): every schema
change takes the database's write lock; other writers wait, readers only while it commits
(outside WAL mode).
"""

from __future__ import annotations

from dataclasses import dataclass

from migdoctor.facts.operations import Operation


@dataclass(frozen=True)
class LockEffect:
    """The lock an operation takes and what waits behind it while it runs."""

    lock: str
    blocks_reads: bool
    blocks_writes: bool
    source: str

    @property
    def blocks(self) -> str:
        if self.blocks_reads and self.blocks_writes:
            return "reads and writes"
        if self.blocks_writes:
            return "writes"
        if self.blocks_reads:
            return "reads"
        return "nothing"


_PG = "PostgreSQL docs, Explicit Locking (13.3.1)"
_MYSQL = "MySQL docs, Online DDL Operations"
_SQLITE = "SQLite docs, File Locking And Concurrency"

ACCESS_EXCLUSIVE = LockEffect("ACCESS EXCLUSIVE", True, True, _PG)
SHARE = LockEffect("SHARE", False, True, _PG)
SHARE_ROW_EXCLUSIVE = LockEffect("SHARE ROW EXCLUSIVE", False, True, _PG)
SHARE_UPDATE_EXCLUSIVE = LockEffect("SHARE UPDATE EXCLUSIVE", False, False, _PG)

# PostgreSQL: operation kind -> lock on the table (ALTER TABLE's default: ACCESS EXCLUSIVE)
POSTGRESQL: dict[str, LockEffect] = {
    "create_index": SHARE,
    "drop_index": ACCESS_EXCLUSIVE,
    "create_foreign_key": SHARE_ROW_EXCLUSIVE,
}
POSTGRESQL_CONCURRENTLY = SHARE_UPDATE_EXCLUSIVE

IN_PLACE = LockEffect("online DDL (ALGORITHM=INPLACE/INSTANT, LOCK=NONE)", False, False, _MYSQL)
COPY = LockEffect("ALGORITHM=COPY (LOCK=SHARED)", False, True, _MYSQL)
EXCLUSIVE_METADATA = LockEffect("exclusive metadata lock", True, True, _MYSQL)
MYSQL: dict[str, LockEffect] = {
    "create_index": IN_PLACE,
    "drop_index": IN_PLACE,
    "add_column": IN_PLACE,
    "drop_column": IN_PLACE,
    "create_unique_constraint": IN_PLACE,
    "drop_constraint": IN_PLACE,
    "create_primary_key": IN_PLACE,
    "create_foreign_key": COPY,  # in place only with foreign_key_checks=0
    "create_check_constraint": COPY,
    "drop_table": EXCLUSIVE_METADATA,
    "rename_table": EXCLUSIVE_METADATA,
}

SQLITE_WRITE_LOCK = LockEffect("database write lock", False, True, _SQLITE)

# operations that take no lock on an existing table
NO_TABLE_LOCK = frozenset({"create_table", "execute", "bulk_insert"})


def lock_effect(dialect: str, operation: Operation) -> LockEffect | None:
    """The lock ``operation`` takes on ``dialect`` (None: none on an existing table, or a
    database migdoctor has no data for)."""
    if operation.kind in NO_TABLE_LOCK or operation.table is None:
        return None
    if dialect == "postgresql":
        if operation.concurrently and operation.kind in ("create_index", "drop_index"):
            return POSTGRESQL_CONCURRENTLY
        return POSTGRESQL.get(operation.kind, ACCESS_EXCLUSIVE)
    if dialect in ("mysql", "mariadb"):
        if operation.kind == "alter_column":
            # a type change copies the table (operations/rewrites.py says when it does not);
            # nullability, rename and defaults run in place
            return COPY if operation.new_type else IN_PLACE
        return MYSQL.get(operation.kind, IN_PLACE)
    if dialect == "sqlite":
        return SQLITE_WRITE_LOCK
    return None
