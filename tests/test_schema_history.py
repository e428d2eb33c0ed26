"""Which revision is the live schema at? The schema at every revision, compared by alembic.

The ledger fixture is a 10-revision history with what name-deep comparisons miss: a type change
(integer to numeric), a column rename, a column drop, a table rename, a table created and later
dropped, and the integer-to-UUID conversion of a real project (add ``new_id``, drop ``id``,
rename ``new_id`` to ``id``: the pattern that made an earlier migdoctor recommend a stamp that
skipped it). Every scenario drives the installed CLI on SQLite, MySQL/MariaDB and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Database
from tests.helpers import Project, add_revision, checks_found, copy_project, finding

LEDGER = (
    "r01account",
    "r02entry",
    "r03email",
    "r04amount",
    "r05rename",
    "r06member",
    "r07dropcode",
    "r08renametable",
    "r09memberuuid",
    "r10tighten",
)
BEFORE_UUID = "r08renametable"
UUID_CONVERSION = "r09memberuuid"
HEAD = LEDGER[-1]


def _empty_version_table(database: Database) -> None:
    database.execute("DELETE FROM alembic_version")


def _column_type(database: Database, table: str, column: str) -> str:
    from sqlalchemy import inspect

    engine = database.engine()
    with engine.connect() as connection:
        columns = {c["name"]: c for c in inspect(connection).get_columns(table)}
    engine.dispose()
    return str(columns[column]["type"]).upper()


def test_the_inferred_revision_is_the_true_one_at_every_revision(
    ledger: Project, database: Database
) -> None:
    for revision in LEDGER:
        ledger.upgrade(revision)
        _empty_version_table(database)

        _, document = ledger.check_json()

        schema = document["database"]["schema"]
        assert schema["matches"] == [revision], (revision, schema)
        exists = finding(document, "table-exists")
        assert exists["evidence"]["verified_applied"] == revision
        assert exists["fixes"][0]["command"].endswith(f"fix stamp --revision {revision}")
        database.execute(f"INSERT INTO alembic_version (version_num) VALUES ('{revision}')")


def test_stamp_over_a_type_change_and_rename_is_refused(
    ledger: Project, database: Database
) -> None:
    ledger.upgrade(BEFORE_UUID)
    _empty_version_table(database)

    _, document = ledger.check_json()
    exists = finding(document, "table-exists")
    assert exists["evidence"]["verified_applied"] == BEFORE_UUID
    assert document["database"]["schema"]["matches"] == [BEFORE_UUID]

    refused = ledger.migdoctor("fix", "stamp", "--revision", UUID_CONVERSION, "--yes")
    assert refused.exit_code == 1, refused
    assert "member.id" in refused.output
    assert "Refused" in refused.output
    assert database.version_rows() == []

    stamped = ledger.migdoctor("fix", "stamp", "--yes")
    assert stamped.exit_code == 0, stamped
    assert database.version_rows() == [BEFORE_UUID]

    upgraded = ledger.migdoctor("upgrade", "head")
    assert upgraded.exit_code == 0, upgraded
    assert database.version_rows() == [HEAD]
    assert "INT" not in _column_type(database, "member", "id")

    after = ledger.migdoctor("check", "--format", "json")
    assert after.exit_code == 0, after
    assert after.json()["database"]["schema"]["matches"] == [HEAD]
    assert after.json()["database"]["schema"]["current_matches"] is True


def test_a_clean_database_before_a_rename_is_not_half_applied(
    ledger: Project, database: Database
) -> None:
    ledger.upgrade(BEFORE_UUID)

    _, document = ledger.check_json()

    assert checks_found(document) == {"stale-current"}, document["findings"]
    stale = finding(document, "stale-current")
    assert [fix["id"] for fix in stale["fixes"]] == ["upgrade"]
    assert document["database"]["schema"]["current_matches"] is True
    upgraded = ledger.migdoctor("upgrade", "head")
    assert upgraded.exit_code == 0, upgraded
    assert database.version_rows() == [HEAD]


def test_a_table_a_later_revision_drops_is_not_missing(ledger: Project, database: Database) -> None:
    """audit_log is created by r06, renamed by r08 and dropped by r10: at the head it is gone,
    and the head is what the emptied version table should be stamped with."""
    ledger.upgrade(HEAD)
    _empty_version_table(database)

    _, document = ledger.check_json()

    assert "partial-migration" not in checks_found(document)
    exists = finding(document, "table-exists")
    assert exists["evidence"]["verified_applied"] == HEAD
    stamped = ledger.migdoctor("fix", "stamp", "--yes")
    assert stamped.exit_code == 0, stamped
    assert database.version_rows() == [HEAD]
    healthy = ledger.migdoctor("check")
    assert healthy.exit_code == 0, healthy
    assert f"schema    matches revision {HEAD} (the version table's)" in healthy.stdout


GUARDED = """
def table_exists(name):
    # a helper of a real project: reads the config through the migration context
    config = op.get_context().config
    assert config.get_section(config.config_ini_section) is not None
    return sa.inspect(op.get_bind()).has_table(name)

if table_exists("setting"):
    return
op.create_table(
    "setting",
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", sa.Text(), nullable=True),
)"""


UNGUARDED = 'op.drop_table("setting")'


def test_a_guarded_revision_is_recorded_with_the_migration_context(
    ledger: Project, database: Database
) -> None:
    add_revision(
        ledger, "r11setting", HEAD, GUARDED, UNGUARDED, message="create setting if missing"
    )
    ledger.upgrade(HEAD)
    database.execute("CREATE TABLE setting (name VARCHAR(40) PRIMARY KEY, value TEXT)")

    _, document = ledger.check_json()

    # the guard sees the table and skips: the upgrade will not fail, nothing to repair
    assert checks_found(document) == {"stale-current"}, document["findings"]
    assert [fix["id"] for fix in finding(document, "stale-current")["fixes"]] == ["upgrade"]
    upgraded = ledger.migdoctor("upgrade", "head")
    assert upgraded.exit_code == 0, upgraded
    assert database.version_rows() == ["r11setting"]


def test_a_guarded_revision_without_its_table_creates_it(
    ledger: Project, database: Database
) -> None:
    add_revision(
        ledger, "r11setting", HEAD, GUARDED, UNGUARDED, message="create setting if missing"
    )
    ledger.upgrade(HEAD)
    database.execute("DELETE FROM alembic_version")

    _, document = ledger.check_json()

    # the emptied version table over the head: stamp the head, whose guarded revision has not
    # created its table yet
    exists = finding(document, "table-exists")
    assert exists["evidence"]["verified_applied"] == HEAD


DATA_THROUGH_THE_BIND = """
bind = op.get_bind()
try:
    # a question that fails: on PostgreSQL it must not spoil what migdoctor reads after it
    bind.execute(sa.text("SELECT count(*) FROM not_a_table"))
except sa.exc.DBAPIError:
    pass
op.add_column("account", sa.Column("nickname", sa.String(40), nullable=True))
bind.execute(sa.text("UPDATE account SET email = 'changed@example.com'"))"""


def test_a_data_change_through_get_bind_is_recorded_not_run(
    ledger: Project, database: Database
) -> None:
    add_revision(
        ledger,
        "r11nickname",
        HEAD,
        DATA_THROUGH_THE_BIND,
        'op.drop_column("account", "nickname")',
        message="nicknames",
    )
    ledger.upgrade(HEAD)
    database.execute(
        "INSERT INTO account (id, display_name, email) VALUES (1, 'Ada', 'ada@example.com')"
    )

    result = ledger.migdoctor("check", "--format", "json")

    assert result.exit_code == 1, result
    document = result.json()
    assert checks_found(document) == {"stale-current"}, document["findings"]
    assert document["database"]["schema"]["current_matches"] is True
    # recorded, never run: the row is as it was
    assert database.scalars("SELECT email FROM account") == ["ada@example.com"]
    assert "nickname" not in database.column_names("account")


# The constraint patterns of two real histories, each of which a name-deep or naive replay got
# wrong (credit: simple-login/app, whose migrations add foreign keys with create_foreign_key and
# rename forward_email to contact; CTFd/CTFd, whose migrations drop constraints by the names
# the database gave them).
LEAGUE = (
    (
        "l1tables",
        None,
        """
op.create_table("team", sa.Column("id", sa.Integer(), primary_key=True))
op.create_table(
    "player",
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("team_id", sa.Integer(), nullable=True),
    sa.Column("name", sa.String(40), nullable=False),
    sa.UniqueConstraint("name"),
)""",
    ),
    (
        "l2foreignkey",
        "l1tables",
        """
if op.get_bind().dialect.name == "sqlite":
    with op.batch_alter_table("player", recreate="always") as batch:
        batch.create_foreign_key("fk_player_team", "team", ["team_id"], ["id"])
else:
    op.create_foreign_key(None, "player", "team", ["team_id"], ["id"])""",
    ),
    ("l3rename", "l2foreignkey", 'op.rename_table("team", "squad")'),
    (
        "l4dropunique",
        "l3rename",
        """
dialect = op.get_bind().dialect.name
if dialect == "postgresql":
    op.drop_constraint("player_name_key", "player", type_="unique")
elif dialect == "mysql":
    op.drop_constraint("name", "player", type_="unique")
else:
    with op.batch_alter_table("player", recreate="always") as batch:
        batch.add_column(sa.Column("rating", sa.Integer(), nullable=True))""",
    ),
)


def test_foreign_keys_renames_and_database_named_constraints_are_followed(
    tmp_path: Path, database: Database
) -> None:
    _assert_each_revision_is_inferred(tmp_path, database, LEAGUE)


# Foreign and unique keys made without a name, dropped later by the names the database gave
# them. MySQL numbers a table's unnamed foreign keys <table>_ibfk_<n>: CREATE TABLE 1, 2... in
# the order SQLAlchemy writes them (the table-level one before the columns'), ALTER TABLE one
# more than the highest (here 4, not the count + 1), and renames them with the table; a unique
# key is named after its first column (title_2 beside title). PostgreSQL keeps the names it gave
# (article_...) when the table is renamed.
NEWSROOM = (
    (
        "n1tables",
        None,
        """
op.create_table("author", sa.Column("id", sa.Integer(), primary_key=True))
op.create_table("editor", sa.Column("id", sa.Integer(), primary_key=True))
op.create_table(
    "article",
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("author_id", sa.Integer(), sa.ForeignKey("author.id"), nullable=True),
    sa.Column("editor_id", sa.Integer(), nullable=True),
    sa.Column("reviewer_id", sa.Integer(), nullable=True),
    sa.Column("title", sa.String(40), nullable=False, unique=True),
    sa.ForeignKeyConstraint(["editor_id"], ["editor.id"]),
)""",
    ),
    (
        "n2reviewer",
        "n1tables",
        """
if op.get_bind().dialect.name == "sqlite":
    with op.batch_alter_table("article", recreate="always") as batch:
        batch.create_foreign_key("fk_article_reviewer", "author", ["reviewer_id"], ["id"])
        batch.create_unique_constraint("uq_article_title_author", ["title", "author_id"])
else:
    op.create_foreign_key(None, "article", "author", ["reviewer_id"], ["id"])
    op.create_unique_constraint(None, "article", ["title", "author_id"])""",
    ),
    ("n3rename", "n2reviewer", 'op.rename_table("article", "post")'),
    (
        "n4dropauthor",
        "n3rename",
        """
dialect = op.get_bind().dialect.name
if dialect == "mysql":
    op.drop_constraint("post_ibfk_2", "post", type_="foreignkey")
    op.drop_constraint("title_2", "post", type_="unique")
elif dialect == "postgresql":
    op.drop_constraint("article_author_id_fkey", "post", type_="foreignkey")
    op.drop_constraint("article_title_author_id_key", "post", type_="unique")
else:
    with op.batch_alter_table("post", recreate="always") as batch:
        batch.drop_constraint("uq_article_title_author", type_="unique")""",
    ),
    (
        "n5subeditor",
        "n4dropauthor",
        """
if op.get_bind().dialect.name == "sqlite":
    with op.batch_alter_table("post", recreate="always") as batch:
        batch.add_column(sa.Column("subeditor_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_post_subeditor", "editor", ["subeditor_id"], ["id"])
        batch.create_unique_constraint("uq_post_subeditor", ["subeditor_id"])
else:
    op.add_column(
        "post",
        sa.Column(
            "subeditor_id", sa.Integer(), sa.ForeignKey("editor.id"), nullable=True, unique=True
        ),
    )""",
    ),
    (
        "n6dropeditors",
        "n5subeditor",
        """
dialect = op.get_bind().dialect.name
if dialect == "mysql":
    op.drop_constraint("post_ibfk_4", "post", type_="foreignkey")
    op.drop_constraint("post_ibfk_1", "post", type_="foreignkey")
elif dialect == "postgresql":
    op.drop_constraint("post_subeditor_id_fkey", "post", type_="foreignkey")
    op.drop_constraint("article_editor_id_fkey", "post", type_="foreignkey")
else:
    with op.batch_alter_table("post", recreate="always") as batch:
        batch.drop_constraint("fk_article_reviewer", type_="foreignkey")""",
    ),
)


def test_unnamed_keys_dropped_by_the_names_the_database_gave_are_followed(
    tmp_path: Path, database: Database
) -> None:
    _assert_each_revision_is_inferred(tmp_path, database, NEWSROOM)


def _assert_each_revision_is_inferred(
    tmp_path: Path, database: Database, history: tuple[tuple[str, str | None, str], ...]
) -> None:
    """At every revision of ``history``, with the version table emptied, the live schema is
    inferred to be at that revision and no other."""
    project = copy_project("ledger", tmp_path / "project", database)
    for path in project.versions.glob("*.py"):
        path.unlink()
    (project.root / "models.py").write_text(
        "from sqlalchemy.orm import DeclarativeBase\n\n\nclass Base(DeclarativeBase):\n    pass\n"
    )
    for revision, down, body in history:
        add_revision(project, revision, down, body, message=revision)

    for revision, _, _ in history:
        project.upgrade(revision)
        _empty_version_table(database)

        _, document = project.check_json()

        schema = document["database"]["schema"]
        assert schema["matches"] == [revision], (revision, schema)
        assert finding(document, "table-exists")["evidence"]["verified_applied"] == revision
        database.execute(f"INSERT INTO alembic_version (version_num) VALUES ('{revision}')")


# ihatemoney (github.com/spiral-project/ihatemoney), revision c941aaca38c2 "remove ip
# recording": batch_op.alter_column("logging_preference", existing_type=sa.VARCHAR(length=9),
# autoincrement=False) over an ENUM column. On MySQL and MariaDB alembic sends a MODIFY that
# states the whole column from the existing_* arguments: the ENUM became a VARCHAR(9), and a
# freshly migrated database "matched no revision". The same MODIFY makes a column NULL without
# existing_nullable and drops a default without existing_server_default.
RESTATED = "5e6f70819203"
RESTATING_UPGRADE = """
op.create_table(
    "review",
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("status", sa.Enum("draft", "shown", name="reviewstatus"), nullable=True),
    sa.Column("rating", sa.Integer(), nullable=False, server_default="0"),
)
with op.batch_alter_table("review") as batch_op:
    batch_op.alter_column("status", existing_type=sa.String(5), autoincrement=False)
    batch_op.alter_column("rating", type_=sa.BigInteger())
"""


def test_an_altered_column_is_what_mysql_restates_it_as(blog: Project, database: Database) -> None:
    add_revision(
        blog,
        RESTATED,
        "3c4d5e6f7081",
        RESTATING_UPGRADE,
        'op.drop_table("review")',
        message="restate columns",
    )
    blog.upgrade("head")
    if database.backend == "mysql":
        # what the MODIFY really left: a VARCHAR, a nullable column without its default
        assert _column_type(database, "review", "status").startswith("VARCHAR")

    _, document = blog.check_json()

    schema = document["database"]["schema"]
    assert (schema["matches"], schema["current_matches"]) == ([RESTATED], True), schema
    assert schema["closest_differences"] == []

    # with the version table emptied, alembic's full comparison says the same
    _empty_version_table(database)
    _, document = blog.check_json()
    assert document["database"]["schema"]["matches"] == [RESTATED]
    assert finding(document, "table-exists")["evidence"]["verified_applied"] == RESTATED


def test_the_header_says_how_the_schema_differs_from_the_closest_revision(
    blog: Project, database: Database
) -> None:
    blog.upgrade("head")
    database.execute("ALTER TABLE comment ADD COLUMN note VARCHAR(20)")

    result = blog.migdoctor("check")
    _, document = blog.check_json()

    schema = document["database"]["schema"]
    difference = (
        "column comment.note (VARCHAR(20)) is in the database but not in the history at "
        "revision 3c4d5e6f7081"
    )
    assert (schema["closest"], schema["closest_differences"]) == ("3c4d5e6f7081", [difference])
    assert f"closest 3c4d5e6f7081 (1 difference: {difference})" in " ".join(result.stdout.split())


# mealie (github.com/mealie-recipes/mealie): its first revision is read from its source (it asks
# its own engine whether the tables exist), so the shape of most tables is unknown to the
# history; a later revision adding a column to one of them matched the live schema all the same,
# and a stamp skipping it unseen was recommended. Here raw SQL makes the table unknown.
NOTE_BY_SQL, NOTE_COLOR = "5a6b7c8d9e0f", "6b7c8d9e0f1a"


def test_a_stamp_never_skips_a_change_to_a_table_the_history_cannot_read(
    blog: Project, database: Database
) -> None:
    add_revision(
        blog,
        NOTE_BY_SQL,
        "3c4d5e6f7081",
        'op.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, body VARCHAR(50))")',
        'op.drop_table("note")',
        message="note by sql",
    )
    add_revision(
        blog,
        NOTE_COLOR,
        NOTE_BY_SQL,
        'op.add_column("note", sa.Column("color", sa.String(10), nullable=True))',
        'op.drop_column("note", "color")',
        message="note color",
    )
    blog.upgrade(NOTE_BY_SQL)
    _empty_version_table(database)

    _, document = blog.check_json()

    exists = finding(document, "table-exists")
    assert exists["evidence"]["verified_applied"] == NOTE_BY_SQL
    assert exists["fixes"][0]["command"] == f"migdoctor fix stamp --revision {NOTE_BY_SQL}"
    assert f"also the schema at {NOTE_COLOR}, but that changes tables" in exists["message"]

    # the column there, the live schema shows the change: the newest revision is the stamp
    database.execute("ALTER TABLE note ADD COLUMN color VARCHAR(10)")
    _, document = blog.check_json()
    assert finding(document, "table-exists")["evidence"]["verified_applied"] == NOTE_COLOR


# mealie again: stamped one revision short, the upgrade was offered as safe and failed with
# "duplicate column name"; a column a pending revision adds is already there
def test_a_column_a_pending_revision_adds_already_there_blocks_the_upgrade(
    blog: Project, database: Database
) -> None:
    add_revision(
        blog,
        "8c9d0e1f2a3b",
        "3c4d5e6f7081",
        'op.add_column("comment", sa.Column("note", sa.String(20), nullable=True))',
        'op.drop_column("comment", "note")',
        message="comment note",
    )
    blog.upgrade("3c4d5e6f7081")
    database.execute("ALTER TABLE comment ADD COLUMN note VARCHAR(20)")

    _, document = blog.check_json()

    stale = finding(document, "stale-current")
    assert (
        "The upgrade would fail: revision 8c9d0e1f2a3b adds column comment.note, which already "
        "exists." in stale["message"]
    )
    assert [(f["id"], f["recommended"]) for f in stale["fixes"]] == [("stamp", True)]
    assert stale["fixes"][0]["command"] == "migdoctor fix stamp --revision 8c9d0e1f2a3b"
    refused = blog.migdoctor("upgrade")
    assert refused.exit_code != 0
    assert database.version_rows() == ["3c4d5e6f7081"]


# mealie (github.com/mealie-recipes/mealie): tables its recorded revisions create refer to tables
# of its first revision, which is read from its source; every comparison below the head failed
# ("NoReferencedTableError: ... could not find table 'cookbooks'")
def test_a_foreign_key_to_a_table_the_history_cannot_read_is_compared_without_it(
    blog: Project, database: Database
) -> None:
    add_revision(
        blog,
        NOTE_BY_SQL,
        "3c4d5e6f7081",
        'op.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, body VARCHAR(50))")',
        'op.drop_table("note")',
        message="note by sql",
    )
    add_revision(
        blog,
        "7c8d9e0f1a2b",
        NOTE_BY_SQL,
        'op.create_table("note_link", sa.Column("id", sa.Integer(), primary_key=True), '
        'sa.Column("note_id", sa.Integer(), sa.ForeignKey("note.id")))',
        'op.drop_table("note_link")',
        message="note links",
    )
    blog.upgrade("7c8d9e0f1a2b")
    _empty_version_table(database)

    _, document = blog.check_json()

    schema = document["database"]["schema"]
    assert schema["error"] is None, schema
    assert schema["matches"][0] == "7c8d9e0f1a2b", schema


def test_a_column_added_with_index_true_brings_its_index(blog: Project, database: Database) -> None:
    """``op.add_column(..., sa.Column(..., index=True))``: alembic creates the column's index
    (``ix_<table>_<column>``) after it; the history's schema holds it too, so the database at
    that revision matches it, and not the revision before."""
    nickname = "5e6f70819203"
    add_revision(
        blog,
        nickname,
        "3c4d5e6f7081",
        "op.add_column('user', sa.Column('nickname', sa.String(30), nullable=True, index=True))",
        downgrade="op.drop_index('ix_user_nickname', 'user')\nop.drop_column('user', 'nickname')",
        message="nickname",
    )
    blog.upgrade("head")
    assert "ix_user_nickname" in database.index_names("user")
    _empty_version_table(database)

    _, document = blog.check_json()

    assert document["database"]["schema"]["matches"] == [nickname], document["database"]


def test_the_index_of_a_column_added_with_index_true_follows_the_naming_convention(
    blog: Project, database: Database
) -> None:
    """With a naming convention in target_metadata, alembic names add_column's index=True index
    by it when it runs (its operations build tables in a MetaData with that convention): a later
    revision drops it by that name, and the history's schema must have had it under it."""
    models = blog.root / "models.py"
    plain = models.read_text()
    models.write_text(
        plain.replace(
            "from sqlalchemy import Column,", "from sqlalchemy import MetaData, Column,"
        ).replace(
            "Base = declarative_base()",
            'Base = declarative_base(metadata=MetaData(naming_convention={"ix": '
            '"idx_%(table_name)s_%(column_0_name)s"}))',
        )
    )
    nickname, dropped = "5e6f70819203", "6f7081920314"
    add_revision(
        blog,
        nickname,
        "3c4d5e6f7081",
        "op.add_column('user', sa.Column('nickname', sa.String(30), nullable=True, index=True))",
        message="nickname",
    )
    add_revision(blog, dropped, nickname, "op.drop_index('idx_user_nickname', 'user')")
    blog.upgrade(nickname)
    assert "idx_user_nickname" in database.index_names("user")
    blog.upgrade("head")
    _empty_version_table(database)

    _, document = blog.check_json()

    assert document["database"]["schema"]["matches"] == [dropped], document["database"]


def test_the_constraints_of_a_column_added_with_unique_and_a_foreign_key_follow_the_convention(
    blog: Project, database: Database
) -> None:
    """add_column of a column with unique=True and a ForeignKey: alembic adds its unique
    constraint and foreign key named by target_metadata's uq and fk conventions (the names the
    database would give otherwise); a later revision drops them by those names. The replay
    names them alike: the table it adds them to was built in the convention's MetaData."""
    import pytest

    if database.backend == "sqlite":
        pytest.skip("SQLite adds no UNIQUE column, and drops constraints only in batch mode")
    models = blog.root / "models.py"
    models.write_text(
        models.read_text()
        .replace("from sqlalchemy import Column,", "from sqlalchemy import MetaData, Column,")
        .replace(
            "Base = declarative_base()",
            'Base = declarative_base(metadata=MetaData(naming_convention={"uq": '
            '"uq_%(table_name)s_%(column_0_name)s", "fk": '
            '"fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}))',
        )
    )
    owner, dropped = "5e6f70819203", "6f7081920314"
    add_revision(
        blog,
        owner,
        "3c4d5e6f7081",
        "op.add_column('article', sa.Column('owner_id', sa.Integer(), "
        "sa.ForeignKey('user.id'), unique=True, nullable=True))",
        message="owner",
    )
    add_revision(
        blog,
        dropped,
        owner,
        "op.drop_constraint('fk_article_owner_id_user', 'article', type_='foreignkey')\n"
        "op.drop_constraint('uq_article_owner_id', 'article', type_='unique')",
    )
    blog.upgrade("head")
    _empty_version_table(database)

    _, document = blog.check_json()

    assert document["database"]["schema"]["matches"] == [dropped], document["database"]
    # and the table is known, not left out: a column dropped by hand is a difference
    database.execute("ALTER TABLE article DROP COLUMN body")
    _, document = blog.check_json()
    assert dropped not in document["database"]["schema"]["matches"], document["database"]
