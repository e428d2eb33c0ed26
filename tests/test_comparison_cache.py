"""The comparison cache (migdoctor/database/drift_cache.py): alembic's comparison of the live
schema with the models is reused only while nothing it reads has changed.

The scenario runs the installed CLI on every backend and changes, one at a time, each input the
cached answer depends on: the live schema, the models, env.py's filter, a model's type. Each
change must show at once. The fingerprint itself is tested on a real SQLite database against a
list of model and setting changes a stale answer would miss."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import Database
from tests.helpers import Project, checks_found, finding


def _drift(project: Project) -> list[str]:
    _, document = project.check_json()
    if "schema-drift" not in checks_found(document):
        return []
    return [d["difference"] for d in finding(document, "schema-drift")["evidence"]["differences"]]


def _cache_files(project: Project) -> list[Path]:
    return sorted((project.root / ".migdoctor" / "cache").glob("comparisons-*.bin"))


def test_a_cached_comparison_follows_every_change_of_schema_models_and_settings(
    blog: Project, database: Database
) -> None:
    blog.upgrade("head")
    assert _drift(blog) == []
    assert len(_cache_files(blog)) == 1  # the answer is kept
    assert _drift(blog) == []  # and given again

    # the live schema changes: a column added behind the models' back
    database.execute("ALTER TABLE comment ADD COLUMN flagged INTEGER")
    assert _drift(blog) == [
        "column comment.flagged (INTEGER) is in the database but not in the models"
    ]
    assert _drift(blog) == [  # the new answer is kept, and right
        "column comment.flagged (INTEGER) is in the database but not in the models"
    ]

    # the models change to match: no drift
    models = blog.root / "models.py"
    original_models = models.read_text()
    models.write_text(
        original_models.replace(
            "    content = Column(String(500), nullable=False)\n",
            "    content = Column(String(500), nullable=False)\n    flagged = Column(Integer)\n",
        )
    )
    assert _drift(blog) == []

    # a type in the models changes (same file size: only the content differs)
    models.write_text(models.read_text().replace("String(500)", "String(900)"))
    differences = _drift(blog)
    assert len(differences) == 1 and "comment.content" in differences[0], differences

    # env.py's settings change: the type is no longer compared
    env = blog.root / "alembic" / "env.py"
    env.write_text(
        env.read_text().replace(
            "connection=connection, target_metadata=target_metadata",
            "connection=connection, target_metadata=target_metadata, compare_type=False",
        )
    )
    assert _drift(blog) == []

    # MIGDOCTOR_NO_CACHE=1: compared, and the same answer
    models.write_text(original_models)
    plain = blog.migdoctor("check", "--format", "json", env={"MIGDOCTOR_NO_CACHE": "1"})
    assert plain.exit_code == 0, plain
    cached = blog.migdoctor("check", "--format", "json")
    assert cached.exit_code == 0, cached
    assert (
        finding(plain.json(), "schema-drift")["evidence"]
        == finding(cached.json(), "schema-drift")["evidence"]
    )
    assert "flagged" in str(finding(cached.json(), "schema-drift")["evidence"])


# --- the fingerprint, on a real SQLite database ---------------------------------------------


def _key(url: str, build: Callable[[Any], None], **options: Any) -> str | None:
    """The comparison key for the models ``build`` defines, against the database at ``url``."""
    import sqlalchemy as sa
    from alembic.runtime.migration import MigrationContext

    from migdoctor.database.drift_cache import comparison_key
    from migdoctor.database.schema import reflect_for_comparison

    metadata = sa.MetaData()
    build(metadata)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"target_metadata": metadata, **options}
            )
            inspector = sa.inspect(connection)
            reflect_for_comparison(inspector)
            return comparison_key(context, metadata, inspector)
    finally:
        engine.dispose()


def _users(
    type_: Any = None,
    nullable: bool = True,
    default: str | None = None,
    index: bool = False,
    ondelete: str | None = None,
    check: str | None = None,
    comment: str | None = None,
    info: dict[str, Any] | None = None,
    where: str | None = None,
) -> Callable[[Any], None]:
    import sqlalchemy as sa

    def build(metadata: Any) -> None:
        sa.Table("team", metadata, sa.Column("id", sa.Integer, primary_key=True))
        extra: list[Any] = [sa.CheckConstraint(check, name="ck_name")] if check else []
        if where:
            extra.append(sa.Index("ix_users_name_where", "name", sqlite_where=sa.text(where)))
        sa.Table(
            "users",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column(
                "name",
                type_ if type_ is not None else sa.String(50),
                nullable=nullable,
                server_default=default,
                index=index,
                comment=comment,
                info=info or {},
            ),
            sa.Column("team_id", sa.Integer, sa.ForeignKey("team.id", ondelete=ondelete)),
            *extra,
        )

    return build


def _include_all(obj: Any, name: Any, type_: Any, reflected: Any, compare_to: Any) -> bool:
    return True


def _include_no_team(obj: Any, name: Any, type_: Any, reflected: Any, compare_to: Any) -> bool:
    return name != "team"


def test_the_fingerprint_changes_with_every_input_of_the_comparison(tmp_path: Path) -> None:
    import sqlalchemy as sa

    path = tmp_path / "app.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(50))")
    url = f"sqlite:///{path}"

    base = _key(url, _users())
    assert base is not None
    assert _key(url, _users()) == base  # the same inputs, the same key, in a new MetaData

    changed_models = {
        "type length": _users(type_=sa.String(60)),
        "type": _users(type_=sa.Text()),
        "enum values": _users(type_=sa.Enum("a", "b", name="kind")),
        "nullability": _users(nullable=False),
        "server default": _users(default="x"),
        "index": _users(index=True),
        "foreign key action": _users(ondelete="CASCADE"),
        "check constraint": _users(check="length(name) > 1"),
        "comment": _users(comment="the user's name"),
        "info (include_object may read it)": _users(info={"skip_autogenerate": True}),
        "an index's dialect option": _users(where="name IS NOT NULL"),
    }
    keys = {what: _key(url, build) for what, build in changed_models.items()}
    assert all(key not in (None, base) for key in keys.values()), keys
    assert len(set(keys.values())) == len(keys)  # each change a key of its own
    other_enum = _key(url, _users(type_=sa.Enum("a", "c", name="kind")))
    assert other_enum != keys["enum values"]

    # the settings: an option, a filter's code
    assert _key(url, _users(), compare_type=False) != base
    assert _key(url, _users(), compare_server_default=True) != base
    with_filter = _key(url, _users(), include_object=_include_all)
    assert with_filter not in (None, base)
    assert _key(url, _users(), include_object=_include_no_team) != with_filter
    # other schemas are read too: not cached at all
    assert _key(url, _users(), include_schemas=True) is None

    # the live schema
    with sqlite3.connect(path) as connection:
        connection.execute("ALTER TABLE users ADD COLUMN email VARCHAR(100)")
    assert _key(url, _users()) != base
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE INDEX ix_users_email ON users (email)")
    assert _key(url, _users()) not in (None, base)


def test_a_comparator_registered_by_an_extension_turns_the_cache_off(tmp_path: Path) -> None:
    from alembic.autogenerate import comparators

    path = tmp_path / "app.db"
    sqlite3.connect(path).close()

    def compare_enum_values(*args: Any, **kwargs: Any) -> None:
        return None

    compare_enum_values.__module__ = "alembic_postgresql_enum.compare"
    registry: Any = comparators._registry
    before = {key: list(entries) for key, entries in registry.items()}
    comparators.dispatch_for("schema")(compare_enum_values)
    try:
        assert _key(f"sqlite:///{path}", _users()) is None
    finally:
        registry.clear()
        registry.update(before)
    assert _key(f"sqlite:///{path}", _users()) is not None


def _excluding(table: str) -> Callable[..., bool]:
    def include_object(obj: Any, name: Any, type_: Any, reflected: Any, compare_to: Any) -> bool:
        return name != table

    return include_object


def test_a_filter_closing_over_a_value_is_fingerprinted_by_that_value(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    sqlite3.connect(path).close()
    url = f"sqlite:///{path}"
    # the same function, the same code: only the value it closes over differs
    first = _key(url, _users(), include_object=_excluding("team"))
    assert first is not None
    assert _key(url, _users(), include_object=_excluding("team")) == first
    assert _key(url, _users(), include_object=_excluding("users")) != first


def test_the_inferred_revision_follows_an_edited_revision_file(
    blog: Project, database: Database
) -> None:
    """The comparisons of the schema-position inference are kept by the files the history's
    schema is replayed from: a revision edited afterwards (even one whose modification time is
    set back) is compared again."""
    import os

    head = "3c4d5e6f7081"
    blog.upgrade("head")
    database.execute("DELETE FROM alembic_version")
    for _ in range(2):  # the second run answers from the cache
        _, document = blog.check_json()
        assert document["database"]["schema"]["matches"] == [head], document["database"]

    first = blog.versions / "1a2b3c4d5e6f_create_user_table.py"
    stat = first.stat()
    first.write_text(
        first.read_text().replace(
            "    sa.Column('email', sa.String(length=120), nullable=False),\n",
            "    sa.Column('email', sa.String(length=120), nullable=False),\n"
            "    sa.Column('nickname', sa.String(length=40), nullable=True),\n",
        )
    )
    os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as old as it was
    for _ in range(2):  # recorded again and kept, then answered from the cache
        _, document = blog.check_json()
        schema = document["database"]["schema"]
        assert schema["matches"] == [], schema
        assert (schema["closest"], schema["differences"]) == (head, 1), schema


def _schema(project: Project, **env: str) -> dict[str, Any]:
    result = project.migdoctor("check", "--format", "json", env=env or None)
    assert result.exit_code in (0, 1), result
    return dict(result.json()["database"]["schema"])


def _kept_outcomes(project: Project) -> int:
    import marshal

    from migdoctor.database.drift_cache import CACHE_SCHEMA, MAGIC
    from migdoctor.project.cache import read_checked

    count = 0
    for path in _cache_files(project):
        payload = read_checked(path, MAGIC, str(CACHE_SCHEMA))
        assert payload is not None
        count += sum(1 for key in marshal.loads(payload) if key.startswith("schema-history:"))
    return count


def test_the_kept_inference_follows_the_live_schema_and_the_version_table(
    blog: Project, database: Database
) -> None:
    """The whole inference's outcome is kept (keyed by the live schema, every revision's file
    and the version table's rows) and given again only while none of them changed: the same
    answer as without the cache, before and after each change."""
    article, head = "2b3c4d5e6f70", "3c4d5e6f7081"
    blog.upgrade("head")
    database.execute("DELETE FROM alembic_version")
    first = _schema(blog)
    assert first["matches"] == [head], first
    assert _kept_outcomes(blog) >= 1
    assert _schema(blog) == first == _schema(blog, MIGDOCTOR_NO_CACHE="1")

    database.execute("DROP TABLE comment")  # the live schema is now the article revision's
    for _ in range(2):
        assert _schema(blog)["matches"] == [article]
    assert _schema(blog, MIGDOCTOR_NO_CACHE="1")["matches"] == [article]

    assert blog.alembic("stamp", article).exit_code == 0  # the version table's rows change
    at_article = _schema(blog)
    assert at_article == _schema(blog, MIGDOCTOR_NO_CACHE="1")
    assert at_article["matches"] == [article], at_article
