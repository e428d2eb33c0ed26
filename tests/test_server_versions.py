"""The lock and rewrite knowledge per database and server version (operations/locks.py,
operations/rewrites.py), for the versions no test server runs: MySQL 8.0.11/8.0.12/8.0.28/8.0.29,
MariaDB 10.2/10.3/10.4, PostgreSQL 9.1/10/11/12. The live servers (MariaDB 10.11, PostgreSQL 15)
are tested through the CLI in tests/checks/test_table_rewrite.py and tests/test_plan.py."""

from __future__ import annotations

import pytest

from migdoctor.facts.operations import Operation
from migdoctor.facts.server_version import ServerVersion, server_from_info, server_from_url
from migdoctor.operations.locks import lock_effect
from migdoctor.operations.rewrites import (
    COPY,
    INPLACE,
    INSTANT,
    REBUILD,
    add_column_rewrite,
    drop_column_rewrite,
    innodb_algorithm,
    innodb_type_change,
    set_not_null_scans,
    type_change_rewrite,
)


def mysql(*version: int) -> ServerVersion:
    return ServerVersion("mysql", version)


def mariadb(*version: int) -> ServerVersion:
    return ServerVersion("mariadb", version)


def postgresql(*version: int) -> ServerVersion:
    return ServerVersion("postgresql", version)


@pytest.mark.parametrize(
    ("server", "change", "algorithm"),
    [
        (mysql(8, 0, 11), "add_column", REBUILD),
        (mysql(8, 0, 12), "add_column", INSTANT),
        (mysql(8, 0, 28), "add_column_not_last", REBUILD),
        (mysql(8, 0, 29), "add_column_not_last", INSTANT),
        (mysql(8, 0, 28), "drop_column", REBUILD),
        (mysql(8, 0, 29), "drop_column", INSTANT),
        (mysql(8, 4, 0), "drop_column", INSTANT),
        (mysql(5, 7, 44), "drop_column", REBUILD),
        (mysql(8, 0, 27), "rename_column", INPLACE),
        (mysql(8, 0, 28), "rename_column", INSTANT),
        (mysql(8, 0, 36), "change_type", COPY),
        (mysql(8, 0, 36), "change_nullability", REBUILD),
        (mariadb(10, 2, 44), "add_column", REBUILD),
        (mariadb(10, 3, 2), "add_column", INSTANT),
        (mariadb(10, 3, 39), "add_column_not_last", REBUILD),
        (mariadb(10, 4, 0), "add_column_not_last", INSTANT),
        (mariadb(10, 3, 39), "drop_column", REBUILD),
        (mariadb(10, 4, 0), "drop_column", INSTANT),
        (mariadb(10, 2, 1), "widen_varchar", COPY),
        (mariadb(10, 3, 39), "widen_varchar", INPLACE),
        (mariadb(10, 4, 3), "widen_varchar", INSTANT),
        (mariadb(11, 4, 2), "change_type", COPY),
    ],
    ids=str,
)
def test_innodb_algorithm_by_version(server: ServerVersion, change: str, algorithm: str) -> None:
    assert innodb_algorithm(server, change) == algorithm


def test_an_unknown_version_is_the_newest() -> None:
    assert innodb_algorithm(mysql(), "drop_column") == INSTANT
    assert innodb_algorithm(mariadb(), "widen_varchar") == INSTANT
    assert add_column_rewrite(postgresql(), "'free'") is None
    assert mysql().verdict_for == "the newest MySQL (its version is not known: assumed)"
    assert str(mariadb(10, 11, 6)) == "MariaDB 10.11.6"


def test_varchar_widening_only_within_the_same_length_bytes() -> None:
    # utf8mb4: 4 bytes a character; 63 characters fit one length byte, 64 need two
    assert innodb_type_change(mariadb(10, 11), "VARCHAR(20)", "VARCHAR(60)") == INSTANT
    assert innodb_type_change(mariadb(10, 11), "VARCHAR(60)", "VARCHAR(64)") == COPY
    assert innodb_type_change(mariadb(10, 11), "VARCHAR(120)", "VARCHAR(200)") == INSTANT
    assert innodb_type_change(mysql(8, 0, 36), "VARCHAR(120)", "VARCHAR(200)") == INPLACE
    assert innodb_type_change(mysql(8, 0, 36), "VARCHAR(200)", "VARCHAR(120)") == COPY
    assert innodb_type_change(mysql(8, 0, 36), "INTEGER", "BIGINT") == COPY
    assert type_change_rewrite(mysql(8, 0, 36), "VARCHAR(120)", "VARCHAR(200)") is None
    copied = type_change_rewrite(mariadb(10, 11), "INTEGER", "BIGINT")
    assert copied is not None and copied.copies and "ALGORITHM=COPY" in copied.how


def test_postgresql_type_changes() -> None:
    assert type_change_rewrite(postgresql(15), "VARCHAR(50)", "VARCHAR(80)") is None
    assert type_change_rewrite(postgresql(15), "VARCHAR(50)", "TEXT") is None
    assert type_change_rewrite(postgresql(15), "VARCHAR(50)", "VARCHAR") is None
    assert type_change_rewrite(postgresql(9, 1), "VARCHAR(50)", "VARCHAR(80)") is not None
    assert type_change_rewrite(postgresql(15), "VARCHAR(80)", "VARCHAR(50)") is not None
    assert type_change_rewrite(postgresql(15), "INTEGER", "BIGINT") is not None
    assert type_change_rewrite(postgresql(15), "INTEGER", "INTEGER") is None


def test_postgresql_add_column_default_before_and_from_11() -> None:
    before = add_column_rewrite(postgresql(10, 23), "'free'")
    assert before is not None and "before PostgreSQL 11" in before.how
    assert add_column_rewrite(postgresql(11, 0), "'free'") is None
    assert add_column_rewrite(postgresql(10, 23), None) is None
    for version in ((10, 23), (11, 0), (15, 4)):
        volatile = add_column_rewrite(postgresql(*version), "gen_random_uuid()")
        assert volatile is not None and "volatile" in volatile.how


def test_set_not_null_scan_spared_by_a_valid_check_from_12() -> None:
    assert set_not_null_scans(postgresql(11, 22), proven_by_check=True)
    assert not set_not_null_scans(postgresql(12, 0), proven_by_check=True)
    assert set_not_null_scans(postgresql(15, 4), proven_by_check=False)


def test_mysql_add_and_drop_column_rebuild_on_old_servers() -> None:
    assert drop_column_rewrite(mysql(8, 0, 29)) is None
    rebuilt = drop_column_rewrite(mysql(8, 0, 28))
    assert rebuilt is not None and not rebuilt.copies and "in place" in rebuilt.how
    assert add_column_rewrite(mysql(8, 0, 12), None) is None
    assert add_column_rewrite(mysql(8, 0, 11), None) is not None
    assert add_column_rewrite(mysql(8, 0, 28), None, last=False) is not None
    assert add_column_rewrite(mysql(8, 0, 29), None, last=False) is None
    assert drop_column_rewrite(postgresql(15)) is None


def test_lock_effect_follows_the_version() -> None:
    drop = Operation("drop_column", table="user", columns=("email",))
    assert lock_effect(mysql(8, 0, 29), drop).lock.startswith("ALGORITHM=INSTANT")  # type: ignore[union-attr]
    assert "rebuilding" in lock_effect(mysql(8, 0, 28), drop).lock  # type: ignore[union-attr]
    retype = Operation("alter_column", table="user", columns=("id",), new_type="BIGINT")
    copy = lock_effect(mariadb(10, 11, 6), retype, "INTEGER")
    assert copy is not None and copy.blocks == "writes"
    widen = Operation("alter_column", table="user", columns=("email",), new_type="VARCHAR(200)")
    assert lock_effect(mariadb(10, 11, 6), widen, "VARCHAR(120)").blocks == "nothing"  # type: ignore[union-attr]
    foreign_key = Operation("create_foreign_key", table="article", name="fk")
    assert lock_effect(postgresql(9, 4), foreign_key).lock == "ACCESS EXCLUSIVE"  # type: ignore[union-attr]
    assert lock_effect(postgresql(15), foreign_key).lock == "SHARE ROW EXCLUSIVE"  # type: ignore[union-attr]


def test_the_server_as_gathered_and_offline() -> None:
    assert server_from_info("mysql", (10, 11, 19), True) == mariadb(10, 11, 19)
    assert server_from_info("postgresql", (15, 4), False) == postgresql(15, 4)
    assert server_from_info("mysql", (8, 0, 36, "ubuntu"), False) == mysql(8, 0, 36)
    assert server_from_url("mariadb+pymysql://u@h/db") == mariadb()
    assert server_from_url("postgres://u@h/db") == postgresql()
    assert server_from_url("${DATABASE_URL}") is None
