"""table-rewrite (MD405): an operation that copies the whole table.

Which type changes each database makes without a rewrite, from its documentation:

- PostgreSQL, ALTER TABLE ("Notes": changing a column's type rewrites the table unless the old
  type is binary coercible to the new one, e.g. ``varchar(n)`` to ``varchar(m)`` with m >= n,
  to unconstrained ``varchar`` or to ``text``); since PostgreSQL 11 ``ADD COLUMN`` with a
  non-volatile default rewrites nothing, with a volatile one (``random()``,
  ``clock_timestamp()``, ``gen_random_uuid()``…) every row is written.
- MySQL 8.0 / MariaDB, "Online DDL Operations": changing a column's data type is
  ``ALGORITHM=COPY``, except extending a ``VARCHAR`` while its length still fits the same
  number of length bytes (255 bytes; 4 bytes a character in utf8mb4).
- SQLite: ``ALTER COLUMN`` does not exist; alembic's batch mode creates a new table, copies
  every row and renames it ("move and copy").
"""

from __future__ import annotations

import re

from migdoctor.facts.model import Facts
from migdoctor.findings import Severity
from migdoctor.operations.hazard_model import Hazard, is_small, on_table
from migdoctor.operations.pending_steps import PendingStep

VOLATILE_DEFAULT = re.compile(
    r"\b(random|clock_timestamp|timeofday|gen_random_uuid|uuid_generate_v[14]\w*|nextval)\s*\(",
    re.IGNORECASE,
)
_TYPE = re.compile(r"^\s*([A-Z ]+?)\s*(?:\(\s*(\d+)\s*\))?\s*$", re.IGNORECASE)
_VARIABLE_TEXT = {"VARCHAR", "CHARACTER VARYING", "NVARCHAR"}
UTF8MB4_BYTES = 4


def _parsed(type_text: str) -> tuple[str, int | None] | None:
    found = _TYPE.match(type_text)
    if found is None:
        return None
    name = " ".join(found.group(1).upper().split())
    return name, int(found.group(2)) if found.group(2) else None


def rewrites_on_type_change(dialect: str, old: str, new: str) -> bool:
    """Whether changing a column from type ``old`` to ``new`` copies the table on ``dialect``
    (types as SQLAlchemy's default dialect writes them)."""
    before, after = _parsed(old), _parsed(new)
    if before is None or after is None:
        return True
    if before == after:
        return False
    (old_name, old_length), (new_name, new_length) = before, after
    widening = old_name in _VARIABLE_TEXT and new_name in _VARIABLE_TEXT
    if dialect == "postgresql":
        if old_name in _VARIABLE_TEXT | {"TEXT"} and new_name == "TEXT":
            return False
        if widening:
            return not (new_length is None or (old_length is not None and new_length >= old_length))
        return True
    if dialect in ("mysql", "mariadb"):
        if widening and old_length is not None and new_length is not None:
            if new_length < old_length:
                return True
            one_byte = old_length * UTF8MB4_BYTES <= 255
            return one_byte != (new_length * UTF8MB4_BYTES <= 255)
        return True
    return dialect == "sqlite"


def table_rewrite(step: PendingStep, dialect: str | None, facts: Facts) -> Hazard | None:
    operation = step.operation
    if not step.existing or dialect is None or is_small(step, facts):
        return None
    why = None
    if operation.kind == "alter_column" and operation.new_type and step.column_type:
        if rewrites_on_type_change(dialect, step.column_type, operation.new_type):
            why = (
                f"changes the type of {operation.columns[0]} from {step.column_type} to "
                f"{operation.new_type}"
            )
    elif (
        operation.kind == "add_column"
        and dialect == "postgresql"
        and operation.default_sql
        and VOLATILE_DEFAULT.search(operation.default_sql)
    ):
        why = f"adds {operation.columns[0]} with the volatile default {operation.default_sql}"
    if why is None:
        return None
    how = {
        "postgresql": "PostgreSQL writes every row again",
        "sqlite": "SQLite's batch mode copies every row into a new table",
    }.get(dialect, "MySQL/MariaDB copy the table (ALGORITHM=COPY)")
    blocks = step.lock.blocks if step.lock is not None else "writes"
    return Hazard(
        "MD405",
        "table-rewrite",
        Severity.WARNING,
        step,
        f"{operation.describe()} rewrites the whole table",
        f"Revision {step.revision} {why} on {on_table(step)}: {how}, blocking {blocks} "
        "until it is done, and needs room for a second copy.",
        "add a new column of the new type, backfill it in batches, switch the application "
        "to it, then drop the old one",
    )
