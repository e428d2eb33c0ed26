"""The names a database gives the constraints made without one, which a later revision may drop
by (``op.drop_constraint("article_ibfk_2", "article", type_="foreignkey")``).

The database names such a constraint in the statement that makes it. What each does (checked on
PostgreSQL 15 and MariaDB 10.11):

- PostgreSQL: ``<table>_<columns>_fkey``, ``_key``, and ``<table>_<column>_check`` for a check
  that reads one column (``<table>_check`` otherwise), with ``1``, ``2``... appended to the
  label while the name is taken; a name longer than 63 bytes loses bytes from the longer of
  the table's and the columns' parts until it fits (makeObjectName). The name is kept when
  the table or a column is renamed.
- MySQL/MariaDB, a foreign key: ``<table>_ibfk_<n>``. CREATE TABLE numbers its unnamed foreign
  keys 1, 2... in the statement's order; ALTER TABLE gives one more than the highest number
  among the table's ``<table>_ibfk_<n>`` names (a dropped number comes back only if it was the
  highest). Renaming the table renames them: the number stays, the name follows the table.
- MySQL/MariaDB, a unique key: its first column, then ``_2``, ``_3``... while another key of the
  table has the name (compared without case); MariaDB's check: ``CONSTRAINT_<n>``, the lowest n
  free.

Not followed: names another table holds,
MySQL 8's checks (``<table>_chk_<n>``), and the index MySQL makes for a foreign key no index
serves (named after its first column, it holds that name until a key on the foreign key's
columns replaces it).

The replay keeps these names with every copy of a constraint (``GivenNames`` in its ``info``);
a table as its CREATE TABLE made it, never copied since, has them given in the statement's
order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import count
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from sqlalchemy import Table

GIVEN_NAMES = "migdoctor_given_names"
_IBFK = re.compile(r"(.*)_ibfk_([0-9]+)")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


class GivenNames(NamedTuple):
    """What the databases call one unnamed constraint: the names given once (PostgreSQL's, and
    MySQL's for a unique key or a check) and MySQL's number for a foreign key."""

    fixed: tuple[str, ...]
    ibfk: int | None = None


def constraint_called(table: Table, name: str) -> Any:
    """The constraint of ``table`` that a database calls ``name`` by a name it gave: one made
    without a name, or a foreign key named ``<table>_ibfk_<n>`` before MySQL renamed it with its
    table. None when there is none."""
    for constraint, given in given_names(table).items():
        if name in given.fixed or name == f"{table.name}_ibfk_{given.ibfk}":
            return constraint
    return None


def given_names(table: Table) -> dict[Any, GivenNames]:
    """What the databases call the constraints of ``table`` by names they gave: kept with each
    constraint, or, for a table as its CREATE TABLE made it, given in the statement's order."""
    given, created = _known(table)
    _name(table, created, given, 0)
    return given


def name_added(table: Table, added: tuple[Any, ...]) -> None:
    """Give the unnamed constraints just ``added`` to ``table`` (a new table, not yet shared),
    each by an ALTER TABLE of its own, the names the databases give them."""
    if all(constraint.name is not None for constraint in added):
        return
    # every other constraint of a rebuilt table carries its names: the added ones are new
    given, created = _known(table)
    numbers = [names.ibfk for names in given.values() if names.ibfk is not None]
    _name(table, created, given, max(numbers, default=0))
    for constraint in created:
        constraint.info[GIVEN_NAMES] = given[constraint]


def _known(table: Table) -> tuple[dict[Any, GivenNames], list[Any]]:
    """The names the constraints of ``table`` carry, and its unnamed constraints that carry
    none, in the order of its CREATE TABLE."""
    from sqlalchemy import ForeignKeyConstraint, PrimaryKeyConstraint

    given: dict[Any, GivenNames] = {}
    created = []
    for constraint in table._sorted_constraints:  # as SQLAlchemy writes CREATE TABLE
        if isinstance(constraint, PrimaryKeyConstraint):
            continue
        # ``info`` is made on first use: a recorded constraint is read, never changed
        kept = vars(constraint).get("info", {}).get(GIVEN_NAMES)
        if kept is not None:
            given[constraint] = kept
        elif constraint.name is not None:
            match = _IBFK.fullmatch(str(constraint.name))
            if isinstance(constraint, ForeignKeyConstraint) and match and match[1] == table.name:
                given[constraint] = GivenNames((), int(match[2]))  # MySQL renames it too
        elif getattr(constraint, "use_alter", False):
            given[constraint] = GivenNames(())  # alembic's create_table leaves it out
        else:
            created.append(constraint)
    return given, created


def _name(table: Table, created: list[Any], given: dict[Any, GivenNames], number: int) -> None:
    """Give the ``created`` constraints of ``table`` their names, in order, into ``given``
    (``number``: the highest MySQL foreign key number before them)."""
    if not created:
        return
    taken = _taken(table, given.values())
    for constraint in created:
        given[constraint] = _given(table, constraint, taken, number + 1)
        number = given[constraint].ibfk or number


def _given(table: Table, constraint: Any, taken: set[str], number: int) -> GivenNames:
    """The names ``constraint`` gets, made now on ``table`` (``taken``: the names in use, which
    the new ones join; ``number``: the foreign key number MySQL would give)."""
    from sqlalchemy import CheckConstraint, ForeignKeyConstraint

    if isinstance(constraint, CheckConstraint):
        read = set(_WORD.findall(str(constraint.sqltext))) & set(table.columns.keys())
        column = read.pop() if len(read) == 1 else None
        postgresql = _free(_postgresql_names(table.name, column, "check"), taken)
        return GivenNames((postgresql, _free((f"CONSTRAINT_{n}" for n in count(1)), taken)))
    foreign_key = isinstance(constraint, ForeignKeyConstraint)
    columns = list(constraint.column_keys) if foreign_key else [c.name for c in constraint.columns]
    suffix = "fkey" if foreign_key else "key"
    postgresql = _free(_postgresql_names(table.name, "_".join(columns), suffix), taken)
    if foreign_key:
        return GivenNames((postgresql,), number)
    mysql = tuple(_free(_numbered(column, "_", 2), taken) for column in columns[:1])
    return GivenNames((postgresql, *mysql))


# PostgreSQL's names are at most NAMEDATALEN - 1 bytes
_POSTGRESQL_NAME_BYTES = 63


def _postgresql_names(name1: str, name2: str | None, label: str) -> Iterator[str]:
    """The names PostgreSQL tries for a constraint, in order (ChooseConstraintName): its
    ``makeObjectName(name1, name2, label)``, then with ``label1``, ``label2``... While the name
    is too long, the longer of the two names loses its last byte, then each is cut back to a
    whole character; the label is kept."""
    for number in count(0):
        yield _postgresql_object_name(name1, name2, f"{label}{number or ''}")


def _postgresql_object_name(name1: str, name2: str | None, label: str) -> str:
    first, second = name1.encode(), (name2 or "").encode()
    overhead = len(label.encode()) + 1 + (1 if name2 is not None else 0)
    available = _POSTGRESQL_NAME_BYTES - overhead
    first_length, second_length = len(first), len(second)
    while first_length + second_length > available:
        if first_length > second_length:
            first_length -= 1
        else:
            second_length -= 1
    parts = [_whole_characters(first, first_length)]
    if name2 is not None:
        parts.append(_whole_characters(second, second_length))
    return "_".join([*parts, label])


def _whole_characters(encoded: bytes, length: int) -> str:
    """The longest start of ``encoded`` (UTF-8) of at most ``length`` bytes that ends on a whole
    character (PostgreSQL's pg_mbcliplen)."""
    return encoded[:length].decode("utf-8", "ignore")


def _numbered(name: str, separator: str, first: int = 1) -> Iterator[str]:
    """``name``, then ``name`` with a number after ``separator``: MySQL's ``_2``, ``_3``..."""
    yield name
    for number in count(first):
        yield f"{name}{separator}{number}"


def _free(candidates: Iterator[str], taken: set[str]) -> str:
    """The first of ``candidates`` not ``taken``; taken from now on."""
    name = next(candidate for candidate in candidates if candidate.lower() not in taken)
    taken.add(name.lower())
    return name


def _taken(table: Table, given: Iterable[GivenNames]) -> set[str]:
    """The names the constraints and indexes of ``table`` hold, named or given, in lower case
    (MySQL compares key names without case; PostgreSQL's names differ by more)."""
    names = [str(c.name) for c in table.constraints if c.name is not None]
    names += [str(index.name) for index in table.indexes if index.name is not None]
    names += [name for names_given in given for name in names_given.fixed]
    return {name.lower() for name in names} | {"primary"}
