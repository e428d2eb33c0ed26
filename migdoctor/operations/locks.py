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
"InnoDB Online DDL Overview" (https://mariadb.com/kb/en/innodb-online-ddl-overview/): index
builds run in place and permit concurrent reads and writes (after a brief exclusive metadata
lock); how a column change runs (INSTANT, in place, in place with a rebuild, or a COPY that
blocks writes) depends on the server's version, which ``operations/rewrites.py`` knows; dropping
or renaming a table takes an exclusive metadata lock. PostgreSQL's locks are the same on every
version migdoctor supports, but for ADD FOREIGN KEY (SHARE ROW EXCLUSIVE since 9.5, release
notes: "Reduce lock levels of [...] foreign key commands"; ACCESS EXCLUSIVE before).

SQLite: "File Locking And Concurrency" (https://www.sqlite.org/lockingv3.html): every schema
change takes the database's write lock; other writers wait, readers only while it commits
(outside WAL mode).
"""

from __future__ import annotations

from dataclasses import dataclass

from migdoctor.facts.operations import Operation
from migdoctor.facts.server_version import MARIADB, MYSQL, POSTGRESQL, SQLITE, ServerVersion
from migdoctor.operations.rewrites import (
    COPY,
    INPLACE,
    INSTANT,
    REBUILD,
    innodb_algorithm,
    innodb_type_change,
    worst,
)


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
POSTGRESQL_LOCKS: dict[str, LockEffect] = {
    "create_index": SHARE,
    "drop_index": ACCESS_EXCLUSIVE,
    "create_foreign_key": SHARE_ROW_EXCLUSIVE,
}
POSTGRESQL_CONCURRENTLY = SHARE_UPDATE_EXCLUSIVE

# how MySQL/MariaDB run it (rewrites.py's algorithm) -> the lock, as "Online DDL Operations"
# says: INSTANT and INPLACE permit concurrent reads and writes, COPY only reads
INNODB_LOCKS: dict[str, LockEffect] = {
    INSTANT: LockEffect("ALGORITHM=INSTANT (metadata only)", False, False, _MYSQL),
    INPLACE: LockEffect("online DDL (ALGORITHM=INPLACE, LOCK=NONE)", False, False, _MYSQL),
    REBUILD: LockEffect(
        "online DDL rebuilding the table (ALGORITHM=INPLACE, LOCK=NONE)", False, False, _MYSQL
    ),
    COPY: LockEffect("ALGORITHM=COPY (LOCK=SHARED)", False, True, _MYSQL),
}
IN_PLACE = INNODB_LOCKS[INPLACE]
EXCLUSIVE_METADATA = LockEffect("exclusive metadata lock", True, True, _MYSQL)
MYSQL_TABLE_LOCKS: dict[str, LockEffect] = {
    "create_index": IN_PLACE,
    "drop_index": IN_PLACE,
    "create_unique_constraint": IN_PLACE,
    "drop_constraint": IN_PLACE,
    "create_primary_key": IN_PLACE,
    "create_foreign_key": INNODB_LOCKS[COPY],  # in place only with foreign_key_checks=0
    "create_check_constraint": INNODB_LOCKS[COPY],
    "drop_table": EXCLUSIVE_METADATA,
    "rename_table": EXCLUSIVE_METADATA,
}

SQLITE_WRITE_LOCK = LockEffect("database write lock", False, True, _SQLITE)

# operations that take no lock on an existing table
NO_TABLE_LOCK = frozenset({"create_table", "execute", "bulk_insert"})


def lock_effect(
    server: ServerVersion, operation: Operation, column_type: str | None = None
) -> LockEffect | None:
    """The lock ``operation`` takes on ``server`` (an unknown version is the newest;
    ``column_type``: the column's type now, for a type change). None: none on an existing table,
    or a database migdoctor has no data for."""
    if operation.kind in NO_TABLE_LOCK or operation.table is None:
        return None
    if server.product == POSTGRESQL:
        if operation.concurrently and operation.kind in ("create_index", "drop_index"):
            return POSTGRESQL_CONCURRENTLY
        if operation.kind == "create_foreign_key" and not server.at_least(9, 5):
            return ACCESS_EXCLUSIVE
        return POSTGRESQL_LOCKS.get(operation.kind, ACCESS_EXCLUSIVE)
    if server.product in (MYSQL, MARIADB):
        algorithm = innodb_column_algorithm(server, operation, column_type)
        if algorithm is not None:
            return INNODB_LOCKS[algorithm]
        return MYSQL_TABLE_LOCKS.get(operation.kind, IN_PLACE)
    if server.product == SQLITE:
        return SQLITE_WRITE_LOCK
    return None


def innodb_column_algorithm(
    server: ServerVersion, operation: Operation, column_type: str | None
) -> str | None:
    """How MySQL/MariaDB ``server`` runs a column operation (None: not one)."""
    if operation.kind == "add_column":
        return innodb_algorithm(server, "add_column")  # alembic always adds it last
    if operation.kind == "drop_column":
        return innodb_algorithm(server, "drop_column")
    if operation.kind != "alter_column":
        return None
    parts = []
    if operation.new_type:
        parts.append(
            innodb_type_change(server, column_type, operation.new_type)
            if column_type
            else COPY  # the type it has now is not known: the usual case, a copy
        )
    if operation.nullable is not None:
        parts.append(innodb_algorithm(server, "change_nullability"))
    if operation.name:
        parts.append(innodb_algorithm(server, "rename_column"))
    return worst(parts) if parts else innodb_algorithm(server, "change_default")
