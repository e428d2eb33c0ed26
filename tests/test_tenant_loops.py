"""An env.py that migrates several schemas in one run, looping over its tenants: Netflix/dispatch's
tenant env.py sets PostgreSQL's search_path to each ``dispatch_organization_*`` schema in turn
and runs the migrations there. migdoctor checks the first and names the others with their
revisions, instead of silently reporting one of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import (
    COMMENT,
    USER,
    add_revision,
    copy_project,
    env_py_sets_search_path,
    finding,
)

TENANT_LOOP = """    with connectable.connect() as connection:
        schemas = [
            name
            for (name,) in connection.exec_driver_sql(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant_%%' ORDER BY 1"
            )
        ]
        for schema in schemas:
            connection.exec_driver_sql(f'set search_path to "{schema}"')
            connection.commit()
            context.configure(connection=connection, target_metadata=target_metadata)
            with context.begin_transaction():
                context.run_migrations()
"""


@pytest.mark.parametrize("server_database", ["postgresql"], indirect=True)
def test_a_loop_over_tenant_schemas_checks_the_first_and_names_the_others(
    tmp_path: Path, server_database: Database
) -> None:
    blog = copy_project("blog", tmp_path / "project", server_database)
    env_py = blog.root / "alembic" / "env.py"
    text = env_py.read_text()
    start = text.index("    with connectable.connect() as connection:\n")
    end = text.index("\n\nif context.is_offline_mode():")
    env_py.write_text(text[:start] + TENANT_LOOP + text[end:])
    server_database.execute("CREATE SCHEMA tenant_a", "CREATE SCHEMA tenant_b")

    upgraded = blog.migdoctor("upgrade")  # both tenants, as env.py runs them
    assert upgraded.exit_code == 0, upgraded
    server_database.execute(f"UPDATE tenant_b.alembic_version SET version_num = '{USER}'")

    result = blog.migdoctor("check")
    document = blog.check_json()[1]

    assert result.exit_code == 0, result  # tenant_a, the one checked, is at the head
    assert (
        f"checked   {server_database.url.rsplit('/', 1)[1]}.tenant_a on 127.0.0.1:5432, "
        "the first of 2 that env.py migrates in one run"
    ) in result.stdout
    assert f"unchecked {server_database.url.rsplit('/', 1)[1]}.tenant_b" in result.stdout
    assert f"alembic_version: {USER}" in result.stdout
    assert document["database"]["current"] == [COMMENT]
    [other] = document["database"]["unchecked_runs"]
    assert other["where"].split(" on ")[0].endswith(".tenant_b")
    assert other["current"] == [USER]


@pytest.mark.parametrize("server_database", ["postgresql"], indirect=True)
def test_a_lock_on_a_table_of_the_search_path_schema_is_lock_contention(
    tmp_path: Path, server_database: Database
) -> None:
    # Netflix/dispatch's core env.py sets the search_path to dispatch_core; migdoctor looks for
    # the sessions in the way on a session of its own, without that search_path
    from sqlalchemy import create_engine, text

    blog = copy_project("blog", tmp_path / "project", server_database)
    env_py_sets_search_path(blog, "tenant_a")
    server_database.execute("CREATE SCHEMA tenant_a")
    assert blog.migdoctor("upgrade").exit_code == 0
    add_revision(
        blog,
        "4e5f60718293",
        COMMENT,
        "op.add_column('user', sa.Column('bio', sa.Text()), schema='tenant_a')",
        "op.drop_column('user', 'bio', schema='tenant_a')",
        message="add bio",
    )
    holder = create_engine(server_database.url).connect()
    try:
        holder.execute(text('SELECT count(*) FROM tenant_a."user"'))  # the transaction stays open

        _, document = blog.check_json("--select", "lock-contention")
    finally:
        holder.rollback()
        holder.close()

    contention = finding(document, "lock-contention")
    assert contention["severity"] in ("warning", "error"), contention
