"""Which operations write every row of a table again, per database and server version: data and
pure functions, with the documentation each rule comes from. The rule that reports them is
``table_rewrite`` in ``operations/hazards.py``; the locks are in ``operations/locks.py``.

PostgreSQL, ALTER TABLE, "Notes" (https://www.postgresql.org/docs/current/sql-altertable.html):

- changing a column's type rewrites the table unless the old type is binary coercible to the
  new one: ``varchar(n)`` to ``varchar(m)`` with m >= n, to unconstrained ``varchar`` or to
  ``text`` (release notes of 9.2: "Increasing the length limit for a varchar or varbit column,
  or removing the limit altogether, no longer requires a table rewrite");
- ``ADD COLUMN`` with a default: since 11 a non-volatile default is kept in the catalog and no
  row is written (release notes of 11: "Allow ALTER TABLE to add a column with a non-null
  default without doing a table rewrite"); before 11 every row is written; a volatile default
  (``random()``, ``clock_timestamp()``, ``gen_random_uuid()``...) writes every row on every
  version;
- ``SET NOT NULL`` scans the whole table (no rewrite) under ACCESS EXCLUSIVE; since 12 "if a
  valid CHECK constraint is found which proves no NULL can exist, then the table scan is
  skipped" (ALTER TABLE, SET/DROP NOT NULL; release notes of 12).

MySQL, "Online DDL Operations" (https://dev.mysql.com/doc/refman/8.0/en/innodb-online-ddl-operations.html,
"Column Operations"), and MariaDB, "InnoDB Online DDL Operations with the INSTANT Alter
Algorithm" (https://mariadb.com/kb/en/innodb-online-ddl-operations-with-the-instant-alter-algorithm/)
and "... with the INPLACE Alter Algorithm":

- changing a column's data type is ``ALGORITHM=COPY`` (concurrent writes blocked), except
  extending a ``VARCHAR`` while its length still takes the same number of length bytes (1 up to
  255 bytes, 2 above; 4 bytes a character in utf8mb4): in place without a rebuild (MySQL 5.7+,
  WL#6554; MariaDB 10.2.2+), instant on MariaDB 10.4.3+ (MDEV-15563);
- ``ADD COLUMN``: ``INSTANT`` on MySQL 8.0.12+ (only as the last column before 8.0.29, at any
  position from 8.0.29) and MariaDB 10.3.2+ (last column; any position from 10.4, MDEV-15562);
  before that in place with a table rebuild;
- ``DROP COLUMN``: ``INSTANT`` on MySQL 8.0.29+ and MariaDB 10.4+ (MDEV-15562); before that in
  place with a table rebuild;
- renaming a column: ``INSTANT`` on MySQL 8.0.28+ and MariaDB 10.3+; before, in place, metadata
  only;
- making a column ``NULL`` or ``NOT NULL``: in place, the table rebuilt (reads and writes go on).

SQLite: ``ALTER COLUMN`` does not exist; alembic's batch mode creates a new table, copies every
row and renames it ("move and copy").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from migdoctor.facts.server_version import MARIADB, MYSQL, POSTGRESQL, SQLITE, ServerVersion

VOLATILE_DEFAULT = re.compile(
    r"\b(random|clock_timestamp|timeofday|gen_random_uuid|uuid_generate_v[14]\w*|nextval)\s*\(",
    re.IGNORECASE,
)
_TYPE = re.compile(r"^\s*([A-Z ]+?)\s*(?:\(\s*(\d+)\s*\))?\s*$", re.IGNORECASE)
_VARIABLE_TEXT = {"VARCHAR", "CHARACTER VARYING", "NVARCHAR"}
UTF8MB4_BYTES = 4
ONE_LENGTH_BYTE = 255

# how a MySQL/MariaDB ALTER runs, cheapest first (the worst of an operation's parts wins)
INSTANT = "INSTANT"
INPLACE = "INPLACE"  # no rebuild: metadata, or an index built beside the table
REBUILD = "INPLACE, rebuilding the table"
COPY = "COPY"
ALGORITHMS = (INSTANT, INPLACE, REBUILD, COPY)

Version = tuple[int, ...]
# product -> change -> ((the version it runs so since, algorithm), ...), newest first; the last
# entry, since (), is what older servers do
INNODB_ALGORITHMS: dict[str, dict[str, tuple[tuple[Version, str], ...]]] = {
    MYSQL: {
        "add_column": (((8, 0, 12), INSTANT), ((), REBUILD)),
        "add_column_not_last": (((8, 0, 29), INSTANT), ((), REBUILD)),
        "drop_column": (((8, 0, 29), INSTANT), ((), REBUILD)),
        "rename_column": (((8, 0, 28), INSTANT), ((), INPLACE)),
        "widen_varchar": (((5, 7), INPLACE), ((), COPY)),
        "change_nullability": (((), REBUILD),),
        "change_default": (((8, 0, 12), INSTANT), ((), INPLACE)),
        "change_type": (((), COPY),),
    },
    MARIADB: {
        "add_column": (((10, 3, 2), INSTANT), ((), REBUILD)),
        "add_column_not_last": (((10, 4), INSTANT), ((), REBUILD)),
        "drop_column": (((10, 4), INSTANT), ((), REBUILD)),
        "rename_column": (((10, 3), INSTANT), ((), INPLACE)),
        "widen_varchar": (((10, 4, 3), INSTANT), ((10, 2, 2), INPLACE), ((), COPY)),
        "change_nullability": (((), REBUILD),),
        "change_default": (((10, 3), INSTANT), ((), INPLACE)),
        "change_type": (((), COPY),),
    },
}

# PostgreSQL: since which version a change needs no rewrite (binary-coercible widening; a
# non-volatile ADD COLUMN default; the SET NOT NULL scan a valid CHECK constraint saves)
POSTGRESQL_SINCE: dict[str, Version] = {
    "widen_varchar": (9, 2),
    "add_column_default": (11,),
    "set_not_null_by_check": (12,),
}


@dataclass(frozen=True)
class Rewrite:
    """Every row is written again: ``how`` says by what, in words."""

    how: str
    copies: bool  # a second copy while concurrent writes wait (False: rebuilt in place, online)


def innodb_algorithm(server: ServerVersion, change: str) -> str:
    """How ``server`` (MySQL or MariaDB; an unknown version is the newest) runs ``change``
    (a key of :data:`INNODB_ALGORITHMS`)."""
    product = MARIADB if server.product == MARIADB else MYSQL
    for since, algorithm in INNODB_ALGORITHMS[product][change]:
        if server.at_least(*since):
            return algorithm
    return COPY


def worst(algorithms: list[str]) -> str:
    return max(algorithms, key=ALGORITHMS.index) if algorithms else INSTANT


def _parsed(type_text: str) -> tuple[str, int | None] | None:
    found = _TYPE.match(type_text)
    if found is None:
        return None
    name = " ".join(found.group(1).upper().split())
    return name, int(found.group(2)) if found.group(2) else None


def type_change(old: str, new: str) -> str | None:
    """The kind of change from type ``old`` to ``new`` (as SQLAlchemy's default dialect writes
    them): None (the same type), ``widen_varchar``, ``varchar_to_text``, ``change_type``."""
    before, after = _parsed(old), _parsed(new)
    if before is None or after is None:
        return "change_type"
    if before == after:
        return None
    (old_name, old_length), (new_name, new_length) = before, after
    if old_name in _VARIABLE_TEXT | {"TEXT"} and new_name == "TEXT":
        return "varchar_to_text"
    if old_name in _VARIABLE_TEXT and new_name in _VARIABLE_TEXT:
        if new_length is None:
            return "varchar_to_text"  # unconstrained varchar
        if old_length is not None and new_length >= old_length:
            same_bytes = (old_length * UTF8MB4_BYTES <= ONE_LENGTH_BYTE) == (
                new_length * UTF8MB4_BYTES <= ONE_LENGTH_BYTE
            )
            return "widen_varchar" if same_bytes else "widen_varchar_more_bytes"
    return "change_type"


def innodb_type_change(server: ServerVersion, old: str, new: str) -> str:
    """How MySQL/MariaDB ``server`` changes a column's type from ``old`` to ``new``."""
    change = type_change(old, new)
    if change is None:
        return INSTANT
    return innodb_algorithm(server, "widen_varchar" if change == "widen_varchar" else "change_type")


def type_change_rewrite(server: ServerVersion, old: str, new: str) -> Rewrite | None:
    """Whether changing a column from ``old`` to ``new`` writes every row on ``server``."""
    change = type_change(old, new)
    if change is None:
        return None
    if server.product == POSTGRESQL:
        binary_coercible = change == "varchar_to_text" or (
            change in ("widen_varchar", "widen_varchar_more_bytes")
            and server.at_least(*POSTGRESQL_SINCE["widen_varchar"])
        )
        return None if binary_coercible else Rewrite("PostgreSQL writes every row again", True)
    if server.product in (MYSQL, MARIADB):
        return innodb_rewrite(server, innodb_type_change(server, old, new))
    if server.product == SQLITE:
        return Rewrite("SQLite's batch mode copies every row into a new table", True)
    return None


def innodb_rewrite(server: ServerVersion, algorithm: str) -> Rewrite | None:
    if algorithm == COPY:
        return Rewrite(f"{server.name} copies the table (ALGORITHM=COPY)", True)
    if algorithm == REBUILD:
        return Rewrite(
            f"{server.name} rebuilds the table in place (ALGORITHM=INPLACE: reads and writes "
            "go on, but it takes as long as a copy)",
            False,
        )
    return None


def add_column_rewrite(
    server: ServerVersion, default_sql: str | None, last: bool = True
) -> Rewrite | None:
    """Whether adding a column (with the server default ``default_sql``, as SQL; ``last``: at
    the end of the table) writes every row on ``server``."""
    if server.product == POSTGRESQL:
        if not default_sql or default_sql.strip().upper() == "NULL":
            return None
        if VOLATILE_DEFAULT.search(default_sql):
            return Rewrite(f"the volatile default {default_sql} is computed for every row", True)
        if not server.at_least(*POSTGRESQL_SINCE["add_column_default"]):
            return Rewrite(
                f"before PostgreSQL 11 the default {default_sql} is written into every row", True
            )
        return None
    if server.product in (MYSQL, MARIADB):
        change = "add_column" if last else "add_column_not_last"
        return innodb_rewrite(server, innodb_algorithm(server, change))
    return None


def drop_column_rewrite(server: ServerVersion) -> Rewrite | None:
    if server.product in (MYSQL, MARIADB):
        return innodb_rewrite(server, innodb_algorithm(server, "drop_column"))
    return None


def set_not_null_scans(server: ServerVersion, proven_by_check: bool) -> bool:
    """Whether PostgreSQL ``server`` scans the table to set a column NOT NULL (``proven_by_check``:
    a valid CHECK (column IS NOT NULL) constraint exists)."""
    return not (proven_by_check and server.at_least(*POSTGRESQL_SINCE["set_not_null_by_check"]))
