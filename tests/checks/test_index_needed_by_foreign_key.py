"""index-needed-by-foreign-key: on MySQL/MariaDB, a step that drops the last index a foreign key
can use fails with error 1553 half way through the run. ``check`` names it for a pending
revision, the preflight of ``upgrade`` refuses it, and so does the preflight of ``downgrade``
when a ``downgrade()`` it would run drops one; nothing is changed. The steps are followed in
order: a foreign key dropped, or another index on its columns created, earlier in the run makes
the drop fine (and an index created after it does not). PostgreSQL and SQLite need no index for
a foreign key: nothing is said there, and the runs go ahead.

The pattern is autogenerate's: a foreign key, an index created for its column in a later
revision (InnoDB then drops the index it had made for the key by itself), and that revision's
``downgrade()`` dropping the index again."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import COMMENT, Project, add_revision, copy_project

BOOKS, INDEXED, PENDING, LATER = "b00c5b00c5aa", "1dec5b00c5aa", "9e9d19e9d1aa", "1a7e71a7e7aa"
INDEX = "ix_book_author_id"


def books_with_an_index(
    tmp_path: Path, database: Database, downgrade: str = f"op.drop_index('{INDEX}', 'book')"
) -> Project:
    """The blog with an author and a book table (book.author_id → author.id, the foreign key
    fk_book_author) and revision INDEXED, which creates ix_book_author_id on book.author_id and
    drops it in its downgrade() (``downgrade``): at its head."""
    project = copy_project("blog", tmp_path / "project", database)
    add_revision(
        project,
        BOOKS,
        COMMENT,
        "op.create_table('author', sa.Column('id', sa.Integer(), primary_key=True))\n"
        "op.create_table('book', sa.Column('id', sa.Integer(), primary_key=True),\n"
        "    sa.Column('author_id', sa.Integer(), nullable=False),\n"
        "    sa.Column('title', sa.String(100), nullable=True),\n"
        "    sa.ForeignKeyConstraint(['author_id'], ['author.id'], name='fk_book_author'))",
        "op.drop_table('book')\nop.drop_table('author')",
        message="books",
    )
    add_revision(
        project,
        INDEXED,
        BOOKS,
        f"op.create_index('{INDEX}', 'book', ['author_id'])",
        downgrade,
        message="index book author",
    )
    project.upgrade("head")
    if database.backend == "mysql":
        # InnoDB dropped the index it had made for the key: this one is the key's only index
        assert database.index_names("book") == {INDEX}
    return project


def pending(project: Project, upgrade: str, revision: str = PENDING, down: str = INDEXED) -> None:
    add_revision(project, revision, down, upgrade, message=f"pending {revision}")


def md411(project: Project) -> list[dict[str, object]]:
    _, report = project.check_json()
    return [f for f in report["findings"] if f["check"] == "index-needed-by-foreign-key"]


def test_a_pending_drop_of_the_keys_last_index(tmp_path: Path, database: Database) -> None:
    project = books_with_an_index(tmp_path, database)
    pending(project, f"op.drop_index('{INDEX}', table_name='book')")

    code, report = project.check_json()
    found = [f for f in report["findings"] if f["code"] == "MD411"]

    if database.backend != "mysql":
        assert found == []
        upgrade = project.migdoctor("upgrade", "head")
        assert upgrade.exit_code == 0, upgrade
        assert database.version_rows() == [PENDING]
        assert INDEX not in database.index_names("book")
        return
    assert code == 1
    assert len(found) == 1, found
    finding = found[0]
    assert (finding["check"], finding["severity"]) == ("index-needed-by-foreign-key", "error")
    evidence = finding["evidence"]
    assert isinstance(evidence, dict)
    assert evidence["revision"] == PENDING
    assert evidence["index"] == INDEX
    assert evidence["foreign_keys"] == ["fk_book_author"]
    message = str(finding["message"])
    assert "1553" in message and "fk_book_author" in message
    assert "op.drop_constraint('fk_book_author', 'book', type_='foreignkey')" in message
    # another index for the key's columns, under another name than the one dropped
    assert "op.create_index('ix_fk_book_author', 'book', ['author_id'])" in message

    upgrade = project.migdoctor("upgrade", "head")

    assert upgrade.exit_code == 1, upgrade
    assert "index-needed-by-foreign-key" in upgrade.output
    assert "nothing was changed" in upgrade.output
    assert database.version_rows() == [INDEXED]
    assert database.index_names("book") == {INDEX}

    # what the preflight spares: alembic's own run fails on that step
    alembic = project.alembic("upgrade", "head")
    assert alembic.exit_code != 0
    assert "1553" in alembic.output
    assert database.version_rows() == [INDEXED]


@pytest.mark.parametrize(
    "first",
    [
        "op.create_index('ix_book_author_title', 'book', ['author_id', 'title'])",
        "op.drop_constraint('fk_book_author', 'book', type_='foreignkey')",
        "op.create_index('ix_book_author_desc', 'book', [sa.text('author_id DESC')])",
    ],
    ids=["another-index-first", "key-dropped-first", "a-descending-index-first"],
)
def test_an_earlier_step_of_the_same_revision_makes_it_fine(
    tmp_path: Path, database: Database, first: str
) -> None:
    if database.backend == "sqlite" and "drop_constraint" in first:
        pytest.skip("SQLite drops a constraint only in batch mode")
    project = books_with_an_index(tmp_path, database)
    pending(project, f"{first}\nop.drop_index('{INDEX}', table_name='book')")

    assert md411(project) == []

    upgrade = project.migdoctor("upgrade", "head")

    assert upgrade.exit_code == 0, upgrade
    assert database.version_rows() == [PENDING]
    assert INDEX not in database.index_names("book")


def test_an_earlier_revision_dropping_the_key_makes_it_fine(
    tmp_path: Path, database: Database
) -> None:
    if database.backend == "sqlite":
        pytest.skip("SQLite drops a constraint only in batch mode")
    project = books_with_an_index(tmp_path, database)
    pending(project, "op.drop_constraint('fk_book_author', 'book', type_='foreignkey')")
    pending(project, f"op.drop_index('{INDEX}', table_name='book')", LATER, PENDING)

    assert md411(project) == []

    upgrade = project.migdoctor("upgrade", "head")

    assert upgrade.exit_code == 0, upgrade
    assert database.version_rows() == [LATER]


def test_an_index_created_after_the_drop_comes_too_late(tmp_path: Path, database: Database) -> None:
    project = books_with_an_index(tmp_path, database)
    pending(
        project,
        f"op.drop_index('{INDEX}', table_name='book')\n"
        "op.create_index('ix_book_author_title', 'book', ['author_id', 'title'])",
    )

    found = md411(project)

    assert [f["evidence"]["index"] for f in found] == (  # type: ignore[index]
        [INDEX] if database.backend == "mysql" else []
    )


def test_dropping_a_column_of_the_key_takes_its_index_away(
    tmp_path: Path, database: Database
) -> None:
    """drop_column takes the column out of every index: MariaDB refuses it for the key's own
    column (1553 on the index); a column after the key's in an index leaves it usable."""
    if database.backend == "sqlite":
        pytest.skip("SQLite drops an indexed column only in batch mode")
    project = books_with_an_index(tmp_path, database)
    pending(
        project,
        "op.create_index('ix_book_author_title', 'book', ['author_id', 'title'])\n"
        f"op.drop_index('{INDEX}', table_name='book')\n"
        "op.drop_column('book', 'title')",
    )

    assert md411(project) == []

    pending(project, "op.drop_column('book', 'author_id')", LATER, PENDING)
    project.upgrade(PENDING)

    found = md411(project)

    if database.backend != "mysql":
        assert found == []
        return
    assert [f["evidence"]["index"] for f in found] == ["ix_book_author_title"]  # type: ignore[index]
    assert "drops column book.author_id" in str(found[0]["message"])
    upgrade = project.migdoctor("upgrade", "head")
    assert upgrade.exit_code == 1, upgrade
    assert database.version_rows() == [PENDING]
    assert "author_id" in database.column_names("book")


def test_the_referenced_end_needs_an_index_too(tmp_path: Path, database: Database) -> None:
    """A foreign key to a unique column other than the primary key: dropping its unique index
    on the referenced table, with nothing else on that column, fails on MySQL; a plain index on
    the column, made first, keeps it fine. (PostgreSQL refuses that drop as well, for another
    reason, the key depending on the constraint: not this check's.)"""
    if database.backend == "sqlite":
        pytest.skip("SQLite adds a constraint only in batch mode")
    project = books_with_an_index(tmp_path, database)
    pending(
        project,
        "op.add_column('author', sa.Column('code', sa.String(20), nullable=True))\n"
        "op.create_unique_constraint('uq_author_code', 'author', ['code'])\n"
        "op.add_column('book', sa.Column('author_code', sa.String(20), nullable=True))\n"
        "op.create_foreign_key('fk_book_author_code', 'book', 'author', ['author_code'], "
        "['code'])",
    )
    project.upgrade("head")
    pending(
        project, "op.drop_constraint('uq_author_code', 'author', type_='unique')", LATER, PENDING
    )

    found = md411(project)

    if database.backend == "postgresql":
        assert found == []
        return
    assert [(f["evidence"]["index"], f["evidence"]["foreign_keys"]) for f in found] == [  # type: ignore[index]
        ("uq_author_code", ["fk_book_author_code"])
    ]
    assert "referenced" in str(found[0]["message"])

    pending(
        project,
        "op.create_index('ix_author_code', 'author', ['code'])\n"
        "op.drop_constraint('uq_author_code', 'author', type_='unique')",
        LATER,
        PENDING,
    )

    assert md411(project) == []
    upgrade = project.migdoctor("upgrade", "head")
    assert upgrade.exit_code == 0, upgrade


def test_the_downgrade_preflight_refuses_a_downgrade_that_drops_it(
    tmp_path: Path, database: Database
) -> None:
    project = books_with_an_index(tmp_path, database)

    downgrade = project.migdoctor("downgrade", BOOKS)

    if database.backend != "mysql":
        assert downgrade.exit_code == 0, downgrade
        assert database.version_rows() == [BOOKS]
        assert INDEX not in database.index_names("book")
        return
    assert downgrade.exit_code == 1, downgrade
    output = downgrade.output
    assert "index-needed-by-foreign-key" in output and "MD411" in output
    assert INDEX in output and "fk_book_author" in output and "1553" in output
    assert f"{INDEXED}'s downgrade() drops index {INDEX}" in " ".join(output.split())
    # where: the line of the downgrade() that drops it
    indexed_file = next(project.versions.glob(f"{INDEXED}_*.py"))
    line = indexed_file.read_text().splitlines().index(f"    op.drop_index('{INDEX}', 'book')")
    assert f"{indexed_file.name}:{line + 1}" in output
    assert "nothing was changed" in output
    assert database.version_rows() == [INDEXED]
    assert database.index_names("book") == {INDEX}

    # a downgrade that goes further down runs the same downgrade() first: refused as well
    assert project.migdoctor("downgrade", "base").exit_code == 1
    assert database.version_rows() == [INDEXED]

    # what the preflight spares: the run itself fails on that step
    unguarded = project.migdoctor("downgrade", BOOKS, "--no-preflight")
    assert unguarded.exit_code != 0
    assert "1553" in unguarded.output
    assert database.version_rows() == [INDEXED]


def test_a_key_an_earlier_downgrade_makes_again_needs_the_index(
    tmp_path: Path, database: Database
) -> None:
    """A later revision dropped the foreign key; its downgrade(), which runs first, makes it
    again (on the index), and then INDEXED's drops the index: refused on MySQL."""
    if database.backend == "sqlite":
        pytest.skip("SQLite drops and adds a constraint only in batch mode")
    project = books_with_an_index(tmp_path, database)
    add_revision(
        project,
        LATER,
        INDEXED,
        "op.drop_constraint('fk_book_author', 'book', type_='foreignkey')",
        "op.create_foreign_key('fk_book_author', 'book', 'author', ['author_id'], ['id'])",
        message="later",
    )
    project.upgrade("head")

    downgrade = project.migdoctor("downgrade", BOOKS)

    if database.backend == "postgresql":
        assert downgrade.exit_code == 0, downgrade
        assert database.version_rows() == [BOOKS]
        return
    assert downgrade.exit_code == 1, downgrade
    assert "index-needed-by-foreign-key" in downgrade.output
    assert f"{INDEXED}'s downgrade()" in " ".join(downgrade.output.split())
    assert database.version_rows() == [LATER]
    assert "fk_book_author" not in database.foreign_key_names("book")


def test_a_downgrade_that_drops_the_key_around_the_index_goes_ahead(
    tmp_path: Path, database: Database
) -> None:
    """The finding's first way out, in the downgrade(): the key dropped before the index and
    made again after it (InnoDB then makes the index it needs)."""
    if database.backend == "sqlite":
        pytest.skip("SQLite drops and adds a constraint only in batch mode")
    project = books_with_an_index(
        tmp_path,
        database,
        "op.drop_constraint('fk_book_author', 'book', type_='foreignkey')\n"
        f"op.drop_index('{INDEX}', 'book')\n"
        "op.create_foreign_key('fk_book_author', 'book', 'author', ['author_id'], ['id'])",
    )

    downgrade = project.migdoctor("downgrade", BOOKS)

    assert downgrade.exit_code == 0, downgrade
    assert database.version_rows() == [BOOKS]
    assert INDEX not in database.index_names("book")
    assert "fk_book_author" in database.foreign_key_names("book")


# microblog (github.com/miguelgrinberg/microblog), revision f7ac3d27bb1d: autogenerate indexed the
# notification table's user_id in batch mode, and its downgrade() drops that index first, in
# batch mode, before the table: on MariaDB the downgrade failed there (1553)
NOTIFICATIONS = "f7ac0000bb1d"


def test_a_batch_mode_drop_in_a_downgrade(tmp_path: Path, database: Database) -> None:
    project = copy_project("blog", tmp_path / "project", database)
    add_revision(
        project,
        NOTIFICATIONS,
        COMMENT,
        "op.create_table('notification', sa.Column('id', sa.Integer(), primary_key=True),\n"
        "    sa.Column('name', sa.String(128), nullable=False),\n"
        "    sa.Column('user_id', sa.Integer(), nullable=False),\n"
        "    sa.ForeignKeyConstraint(['user_id'], ['user.id']))\n"
        "with op.batch_alter_table('notification', schema=None) as batch_op:\n"
        "    batch_op.create_index(batch_op.f('ix_notification_name'), ['name'])\n"
        "    batch_op.create_index(batch_op.f('ix_notification_user_id'), ['user_id'])",
        "with op.batch_alter_table('notification', schema=None) as batch_op:\n"
        "    batch_op.drop_index(batch_op.f('ix_notification_user_id'))\n"
        "    batch_op.drop_index(batch_op.f('ix_notification_name'))\n"
        "op.drop_table('notification')",
        message="notifications",
    )
    project.upgrade("head")

    downgrade = project.migdoctor("downgrade", COMMENT)

    if database.backend != "mysql":
        assert downgrade.exit_code == 0, downgrade
        assert database.version_rows() == [COMMENT]
        assert "notification" not in database.table_names()
        return
    assert downgrade.exit_code == 1, downgrade
    output = " ".join(downgrade.output.split())
    assert "MD411" in output
    assert f"{NOTIFICATIONS}'s downgrade() drops index ix_notification_user_id" in output
    assert database.version_rows() == [NOTIFICATIONS]
    assert "ix_notification_user_id" in database.index_names("notification")
