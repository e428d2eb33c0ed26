"""What a pending revision would do is recorded by running its upgrade() against a recorder:
nothing reaches a database. Files that cannot run are read statically."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.dialects import mysql, postgresql, sqlite

from migdoctor.facts.operations import RECORDED, STATIC
from migdoctor.operations.recorder import record_upgrade, record_upgrades
from migdoctor.project.scripts import RevisionScript

HEADER = "revision = 'r1'\ndown_revision = None\n"
DIALECTS = {
    "sqlite": sqlite.dialect(),
    "mysql": mysql.dialect(),
    "postgresql": postgresql.dialect(),
}


def revision_file(tmp_path: Path, body: str, imports: str = "") -> RevisionScript:
    path = tmp_path / "r1_test.py"
    path.write_text(f"from alembic import op\nimport sqlalchemy as sa\n{imports}\n{HEADER}\n{body}")
    return RevisionScript("r1", (), (), (), "", path)


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_operations_are_recorded_not_run(tmp_path: Path, dialect: str) -> None:
    script = revision_file(
        tmp_path,
        "def upgrade():\n"
        "    t = op.create_table('product', sa.Column('id', sa.Integer, primary_key=True),\n"
        "                        sa.Column('name', sa.String(20)), schema=None)\n"
        "    op.bulk_insert(t, [{'id': 1, 'name': 'x'}])\n"
        "    op.create_index('ix_product_name', 'product', ['name'])\n"
        "    with op.batch_alter_table('product') as batch_op:\n"
        "        batch_op.add_column(sa.Column('price', sa.Numeric()))\n"
        "        batch_op.alter_column('name', new_column_name='title')\n"
        "    op.execute('UPDATE product SET price = 0')\n"
        "    op.get_bind().execute(sa.text('DELETE FROM product'))\n",
    )

    recorded = record_upgrade(script, DIALECTS[dialect])

    assert recorded.method == RECORDED, recorded.note
    assert [op.describe() for op in recorded.operations] == [
        "create table product (id, name)",
        "bulk insert on product",
        "create index ix_product_name on product (name)",
        "add column product.price",
        "alter column product.name (rename to title)",
        "execute SQL: UPDATE product SET price = 0",
    ]


def test_file_that_cannot_be_imported_is_read_statically(tmp_path: Path) -> None:
    script = revision_file(
        tmp_path,
        "def upgrade():\n"
        "    op.create_table('orders', sa.Column('id', sa.Integer), sa.Column('total', Money()))\n"
        "    op.add_column('product', sa.Column('sku', sa.String(10)), schema='shop')\n"
        "    for name in NAMES:\n"
        "        op.create_table(name)\n"
        "    with op.batch_alter_table('product', schema='shop') as b:\n"
        "        b.drop_column('old')\n",
        imports="from myshop.types import Money",
    )

    recorded = record_upgrade(script, DIALECTS["sqlite"])

    assert recorded.method == STATIC
    assert "could not be imported" in (recorded.note or "")
    assert "No module named 'myshop'" in (recorded.note or "")
    assert [call.words for call in recorded.unread] == [
        "an operation on a computed table (line 11): op.create_table(name)"
    ]
    assert "not all of it could be read: an operation on a computed table" in (recorded.note or "")
    assert [op.describe() for op in recorded.operations] == [
        "create table orders (id, total)",
        "add column shop.product.sku",
        "drop column shop.product.old",
    ]


# MLflow (github.com/mlflow/mlflow), revision 75868b020152: upgrade() only calls the file's own
# helpers, one of which adds columns in a loop over tables it computes; read from the source,
# the revision looked as if it did nothing at all
HELPERS = (
    "def upgrade():\n"
    "    _add_note()\n"
    "    _add_columns_to('product', kind='sku')\n"
    "    if op.get_bind().dialect.name == 'sqlite':\n"
    "        with op.batch_alter_table(TABLE) as batch_op:\n"
    "            batch_op.drop_column('old')\n"
    "    else:\n"
    "        op.drop_column(TABLE, 'old')\n"
    "\n"
    "TABLE = 'orders'\n"
    "\n"
    "def _add_note():\n"
    "    op.add_column('orders', sa.Column('note', sa.Text()))\n"
    "\n"
    "def _add_columns_to(table, kind='code'):\n"
    "    op.add_column(table, sa.Column(kind, sa.String(10)))\n"
    "    _again()\n"
    "\n"
    "def _again():\n"
    "    _add_note()\n"
    "    _flatten([1, [2]])\n"
    "\n"
    "def _flatten(value):\n"
    "    # recursive, and no operation in it: nothing is left unread\n"
    "    return [y for x in value for y in (_flatten(x) if isinstance(x, list) else [x])]\n"
)


def test_the_source_reader_follows_calls_into_the_files_own_functions(tmp_path: Path) -> None:
    script = revision_file(tmp_path, HELPERS, imports="from myshop.types import Money")

    recorded = record_upgrade(script, DIALECTS["sqlite"])

    assert recorded.method == STATIC
    assert recorded.unread == (), recorded.unread
    assert [op.describe() for op in recorded.operations] == [
        "add column orders.note",
        "add column product.sku",
        "add column orders.note",
        "drop column orders.old",
        "drop column orders.old",
    ]


def test_a_call_the_source_reader_cannot_follow_leaves_the_revision_unread(
    tmp_path: Path,
) -> None:
    script = revision_file(
        tmp_path,
        "def upgrade():\n"
        "    _loop()\n"
        "    helpers.migrate(op)\n"
        "    with op.batch_alter_table(NAMES[0]) as batch_op:\n"
        "        batch_op.drop_column('old')\n"
        "\n"
        "def _loop():\n"
        "    for table_name in TABLES():\n"
        "        op.add_column(table_name, sa.Column('note', sa.Text()))\n"
        "    _drop_all(['a', 'b'])\n"
        "\n"
        "def _drop_all(tables):\n"
        "    if tables:\n"
        "        op.drop_table(tables[0])\n"
        "        _drop_all(tables[1:])\n",
        imports="from myshop import helpers",
    )

    recorded = record_upgrade(script, DIALECTS["sqlite"])

    assert recorded.operations == ()
    assert [call.words for call in recorded.unread] == [
        "an operation on a computed table (line 15): "
        "op.add_column(table_name, sa.Column('note', sa.Text()))",
        "an operation on a computed table (line 20): op.drop_table(['a', 'b'][0])",
        "a recursive call (line 21): _drop_all(['a', 'b'][1:])",
        "a call handed op (line 9): helpers.migrate(op)",
        "a batch on a computed table (line 10): op.batch_alter_table(NAMES[0])",
    ]


def test_upgrade_that_uses_its_own_connection_is_refused(tmp_path: Path) -> None:
    database = tmp_path / "live.db"
    script = revision_file(
        tmp_path,
        "def upgrade():\n"
        f"    engine = sa.create_engine('sqlite:///{database}')\n"
        "    with engine.begin() as connection:\n"
        "        connection.execute(sa.text('CREATE TABLE touched (id INTEGER)'))\n"
        "    op.create_table('never_reached', sa.Column('id', sa.Integer))\n",
    )

    recorded = record_upgrade(script, DIALECTS["sqlite"])

    assert recorded.method == STATIC
    assert "runs SQL through its own connection" in (recorded.note or "")
    from sqlalchemy import create_engine, inspect

    engine = create_engine(f"sqlite:///{database}")
    assert "touched" not in inspect(engine).get_table_names()
    engine.dispose()


def test_upgrade_that_reads_data_falls_back_to_static(tmp_path: Path) -> None:
    script = revision_file(
        tmp_path,
        "def upgrade():\n"
        "    rows = op.get_bind().execute(sa.text('SELECT id FROM product')).fetchall()\n"
        "    op.create_table('archive', sa.Column('id', sa.Integer))\n",
    )

    recorded = record_upgrade(script, DIALECTS["postgresql"])

    assert recorded.method == STATIC
    assert "could not be recorded" in (recorded.note or "")
    assert [op.describe() for op in recorded.operations] == ["create table archive (id)"]


def test_alembic_op_is_restored_after_recording(tmp_path: Path) -> None:
    from alembic import op

    before = getattr(op, "_proxy", None)
    record_upgrade(
        revision_file(tmp_path, "def upgrade():\n    op.drop_table('x')\n"), DIALECTS["sqlite"]
    )
    assert getattr(op, "_proxy", None) is before


# MLflow's 75868b020152 again: its loop adds a column to each table where it is missing. Recorded
# against a database without the columns, the loop's calls are reached and their tables known;
# against one that has them, nothing is reached, and what the loop did when it ran is unknown
ADD_IF_MISSING = (
    "def upgrade():\n"
    "    bind = op.get_bind()\n"
    "    for table_name in sa.inspect(bind).get_table_names():\n"
    "        existing = {c['name'] for c in sa.inspect(bind).get_columns(table_name)}\n"
    "        if 'note' not in existing:\n"
    "            op.add_column(table_name, sa.Column('note', sa.Text()))\n"
)


@pytest.mark.parametrize("has_column", [False, True])
def test_a_call_on_a_computed_table_is_known_where_the_recording_reaches_it(
    tmp_path: Path, has_column: bool
) -> None:
    import sqlalchemy as sa
    from alembic.runtime.migration import MigrationContext

    script = revision_file(tmp_path, ADD_IF_MISSING)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'live.db'}")
    try:
        with engine.begin() as connection:
            note = ", note TEXT" if has_column else ""
            connection.exec_driver_sql(f"CREATE TABLE product (id INTEGER PRIMARY KEY{note})")
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            recorded = record_upgrades(
                [script], connection.dialect, context, live_revisions=["r1"]
            )["r1"]
    finally:
        engine.dispose()

    assert recorded.consulted_database
    if has_column:
        assert recorded.operations == ()
        assert [call.words for call in recorded.unread] == [
            "an operation on a computed table (line 12): "
            "op.add_column(table_name, sa.Column('note', sa.Text()))"
        ]
    else:
        assert [op.describe() for op in recorded.operations] == ["add column product.note"]
        assert recorded.unread == ()
