"""The wire-target-metadata fix: env.py left as alembic's template leaves it
(``target_metadata = None``) or with a MetaData no model reaches, repaired through the installed
CLI; the candidates are found in the project's modules without importing them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import (
    Project,
    checks_found,
    copy_project,
    finding,
    journal,
    run,
    unwire_target_metadata,
)

TEMPLATE_LINE = b"target_metadata = None\n"


def as_template(project: Project, package: str = "myapp") -> Path:
    """The blog with its models in ``package/models.py`` and env.py as ``alembic init`` writes
    it: ``target_metadata = None``. Returns env.py."""
    (project.root / package).mkdir()
    (project.root / package / "__init__.py").write_text("")
    (project.root / "models.py").rename(project.root / package / "models.py")
    return unwire_target_metadata(project)


def sqlite_blog(tmp_path: Path) -> Project:
    return copy_project(
        "blog", tmp_path / "project", Database("sqlite", f"sqlite:///{tmp_path / 'app.db'}")
    )


def without_prepend_sys_path(project: Project) -> None:
    text = project.ini.read_text()
    assert "\nprepend_sys_path = .\n" in text
    project.ini.write_text(text.replace("\nprepend_sys_path = .\n", "\n"))


@pytest.mark.databases
def test_wires_the_declarative_base_and_undo_restores_env_py(
    blog: Project, database: Database
) -> None:
    env_py = as_template(blog)
    without_prepend_sys_path(blog)  # then env.py must put the project's folder on sys.path
    blog.upgrade("head")
    original = env_py.read_bytes()
    _, before = blog.check_json()
    offered = finding(before, "no-target-metadata")["fixes"]
    assert [(f["id"], f["recommended"]) for f in offered] == [("wire-target-metadata", True)]

    result = blog.migdoctor("fix", "wire-target-metadata", "--yes")

    assert result.exit_code == 0, result
    assert "-target_metadata = None" in result.stdout  # the diff was shown
    wired = env_py.read_bytes()
    head, _, tail = original.partition(TEMPLATE_LINE)
    assert wired.startswith(head) and wired.endswith(tail)  # the rest byte for byte
    block = wired[len(head) : len(wired) - len(tail)].decode()
    assert "sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))" in block
    assert "from myapp.models import Base" in block
    assert block.endswith("target_metadata = Base.metadata\n")
    _, after = blog.check_json()
    assert "no-target-metadata" not in checks_found(after)
    assert "schema-drift" not in checks_found(after)  # compared with the models: no drift
    autogenerate = blog.alembic("check")
    assert autogenerate.exit_code == 0, autogenerate
    assert "No new upgrade operations detected" in autogenerate.output

    undone = blog.migdoctor("undo", "--yes")

    assert undone.exit_code == 0, undone
    assert env_py.read_bytes() == original
    _, again = blog.check_json()
    assert "no-target-metadata" in checks_found(again)
    assert database.version_rows()  # the database was never touched


def test_flask_sqlalchemy_models_never_imported(tmp_path: Path) -> None:
    project = copy_project("flask_app", tmp_path / "app", None)
    app_py = project.root / "app.py"
    source = app_py.read_text()
    app_py.write_text(source[: source.index("class User")])
    (project.root / "models.py").write_text(
        "from app import db\n\n\n" + source[source.index("class User") :]
    )
    url = f"sqlite:///{tmp_path / 'flask.db'}"
    environment = {"FLASK_APP": "app", "DATABASE_URL": url}
    flask_db = [sys.executable, "-m", "flask", "db"]
    assert run([*flask_db, "upgrade"], project.root, env=environment).exit_code == 0
    env_py = project.root / "migrations" / "env.py"
    original = env_py.read_bytes()

    result = project.migdoctor("fix", "wire-target-metadata", "--yes", env=environment)

    assert result.exit_code == 0, result
    assert "app:db" in result.stdout
    anchor = b"target_db = current_app.extensions['migrate'].db\n"
    head, _, tail = original.partition(anchor)
    wired = env_py.read_bytes()
    assert wired.startswith(head + anchor) and wired.endswith(tail)
    assert b"\nimport models  # noqa" in wired and b"sys.path" not in wired
    checked = run([*flask_db, "check"], project.root, env=environment)
    assert checked.exit_code == 0, checked
    assert "No new upgrade operations detected" in checked.output


def test_two_candidates_are_listed_until_one_is_chosen(tmp_path: Path) -> None:
    blog = sqlite_blog(tmp_path)
    env_py = as_template(blog, package="pkg")
    models = blog.root / "pkg" / "models.py"
    text = models.read_text()
    comment = text.index("class Comment(Base):")
    models.write_text(text[:comment])
    (blog.root / "pkg" / "comments.py").write_text(
        "from sqlalchemy import Column, Integer\n"
        "from sqlalchemy.orm import declarative_base\n\n"
        "CommentBase = declarative_base()\n\n\n"
        + text[comment:]
        .replace("(Base)", "(CommentBase)")
        .replace('ForeignKey("article.id"), ', "")
    )
    blog.upgrade("head")
    original = env_py.read_bytes()
    _, document = blog.check_json()
    offered = finding(document, "no-target-metadata")["fixes"]
    assert [(f["id"], f["recommended"]) for f in offered] == [("wire-target-metadata", False)]

    refused = blog.migdoctor("fix", "wire-target-metadata", "--yes")

    assert refused.exit_code == 1, refused
    assert "pkg.models:Base  declarative, 2 model(s), 2 matching the history" in refused.stdout
    assert "pkg.comments:CommentBase  declarative, 1 model(s), 1 matching" in refused.stdout
    assert "--metadata module:attribute" in refused.stdout
    assert env_py.read_bytes() == original
    unknown = blog.migdoctor("fix", "wire-target-metadata", "--metadata", "pkg.nope:Base")
    assert unknown.exit_code == 1, unknown
    assert "--metadata pkg.nope:Base names no declarative base" in unknown.stdout
    assert env_py.read_bytes() == original

    chosen = blog.migdoctor("fix", "wire-target-metadata", "--metadata", "pkg.models:Base", "--yes")

    assert chosen.exit_code == 0, chosen
    assert b"from pkg.models import Base" in env_py.read_bytes()
    assert b"sys.path" not in env_py.read_bytes()  # prepend_sys_path = . covers the folder
    assert journal(blog)[-1]["event"] == "applied"


def test_base_imported_but_models_never_are(tmp_path: Path) -> None:
    blog = sqlite_blog(tmp_path)
    (blog.root / "pkg").mkdir()
    (blog.root / "pkg" / "__init__.py").write_text("")
    (blog.root / "pkg" / "base.py").write_text(
        "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n"
    )
    models = (blog.root / "models.py").read_text()
    models = models.replace("from sqlalchemy.orm import declarative_base, relationship", "")
    models = models.replace("Base = declarative_base()", "from pkg.base import Base")
    (blog.root / "pkg" / "models.py").write_text(
        "from sqlalchemy.orm import relationship\n" + models
    )
    (blog.root / "models.py").unlink()
    env_py = unwire_target_metadata(
        blog, "from pkg.base import Base  # noqa: E402\n\ntarget_metadata = Base.metadata\n"
    )
    blog.upgrade("head")
    original = env_py.read_bytes()

    result = blog.migdoctor("fix", "wire-target-metadata", "--yes")

    assert result.exit_code == 0, result
    wired = env_py.read_bytes()
    assignment = b"target_metadata = Base.metadata\n"
    head, _, tail = original.partition(assignment)
    assert wired.startswith(head) and wired.endswith(assignment + tail)
    added = wired[len(head) : len(wired) - len(assignment + tail)]
    assert b"import pkg.models  # noqa" in added
    assert b"sys.path" not in added and b"target_metadata" not in added
    _, document = blog.check_json()
    assert "no-target-metadata" not in checks_found(document)


def test_a_module_that_exits_when_imported_is_read_not_run(tmp_path: Path) -> None:
    blog = sqlite_blog(tmp_path)
    env_py = as_template(blog)
    models = blog.root / "myapp" / "models.py"
    models.write_text('raise SystemExit("imported!")\n' + models.read_text())
    blog.upgrade("head")
    original = env_py.read_bytes()

    planned = blog.migdoctor("fix", "wire-target-metadata", "--dry-run")

    assert planned.exit_code == 0, planned
    assert "Pass myapp.models:Base's MetaData" in planned.stdout
    assert "+from myapp.models import Base" in planned.stdout
    assert env_py.read_bytes() == original

    # env.py, run again with the edit, imports the module and ends: the edit is taken back
    applied = blog.migdoctor("fix", "wire-target-metadata", "--yes")

    assert applied.exit_code == 1, applied
    assert "alembic/env.py was put back as it was" in applied.output
    assert "imported!" in applied.output
    assert "Traceback" not in applied.output
    assert env_py.read_bytes() == original
    assert journal(blog)[-1]["event"] == "failed"
    assert journal(blog)[-1]["state"] == "old"
