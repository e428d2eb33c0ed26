"""script-load-error for a file whose header reads fine but which alembic cannot import: a package
that is not installed, an exception or ``sys.exit()`` at module level, an import that hangs or ends
the process. The check names the file and line, no upgrade is offered or run over it, and a file
that hangs or exits can neither hang nor end migdoctor."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import (
    ARTICLE,
    COMMENT,
    COMMENT_FILE,
    TAG_FILE,
    USER,
    Project,
    add_tag_revision,
    checks_found,
    copy_project,
    edit,
    finding,
    migdoctor_command,
)

# the line of the comment revision the statement is written on (after the imports)
BROKEN_LINE = 12


def break_revision(project: Project, statement: str, relative: str = COMMENT_FILE) -> Path:
    """Put ``statement`` at module level of a revision, on line BROKEN_LINE."""
    path = project.root / relative
    lines = path.read_text().splitlines()
    assert lines[BROKEN_LINE - 2] == "import sqlalchemy as sa", lines[:12]
    lines.insert(BROKEN_LINE - 1, statement)
    path.write_text("\n".join(lines) + "\n")
    return path


def age(*paths: Path) -> None:
    """Make files look written a minute ago (a cache keeps nothing written in the last two
    seconds)."""
    then = time.time() - 60
    for path in paths:
        os.utime(path, (then, then))


def test_a_pending_revision_importing_a_missing_package_is_never_upgraded(
    blog: Project, database: Database
) -> None:
    blog.upgrade(ARTICLE)
    break_revision(blog, "import not_installed_pkg  # the application's helper")
    (blog.root / "requirements.txt").write_text("sqlalchemy>=2\nnot-installed-pkg==1.0\n")
    tables_before = database.table_names()

    result = blog.migdoctor("check", "--format", "json")

    assert result.exit_code == 1, result
    document = result.json()
    load_error = finding(document, "script-load-error")
    evidence = load_error["evidence"]
    assert evidence["path"] == COMMENT_FILE
    assert evidence["line"] == BROKEN_LINE
    assert evidence["statement"] == "import not_installed_pkg  # the application's helper"
    assert evidence["error"] == "ModuleNotFoundError: No module named 'not_installed_pkg'"
    assert evidence["missing_module"] == "not_installed_pkg"
    assert evidence["declared_in"] == ["requirements.txt:2"]
    assert evidence["revision"] == COMMENT
    assert f"{COMMENT_FILE}:{BROKEN_LINE}" in load_error["message"]
    assert "listed in requirements.txt:2 but not installed here" in load_error["message"]
    stale = finding(document, "stale-current")
    assert stale["fixes"] == []
    assert "fail when imported" in stale["message"]

    text = blog.migdoctor("check")
    assert "✗ script-load-error" in text.stdout
    assert "every version file" not in text.stdout

    refused = blog.migdoctor("upgrade")
    assert refused.exit_code == 1, refused
    assert "script-load-error" in refused.stdout
    assert "The upgrade would fail: nothing was changed." in refused.stdout

    fix = blog.migdoctor("fix", "upgrade", "--yes")
    assert fix.exit_code == 1, fix
    assert f"{COMMENT_FILE}:{BROKEN_LINE}" in " ".join(fix.stdout.split())
    assert "not_installed_pkg" in fix.stdout

    # without the preflight alembic fails on the import: the message names the file and line
    forced = blog.migdoctor("upgrade", "--no-preflight")
    assert forced.exit_code != 0, forced
    assert "Traceback" not in forced.output
    assert f"{COMMENT_FILE}:{BROKEN_LINE}" in forced.stderr
    assert "No module named 'not_installed_pkg'" in forced.stderr

    assert database.version_rows() == [ARTICLE]
    assert database.table_names() == tables_before


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        ("raise RuntimeError('SETTINGS_MODULE is not set')", "RuntimeError: SETTINGS_MODULE"),
        ("import sys; sys.exit(3)", "SystemExit: sys.exit(3) was called"),
    ],
    ids=["exception", "sys-exit"],
)
def test_a_module_level_exception_or_exit_is_reported_and_refused(
    blog: Project, database: Database, statement: str, error: str
) -> None:
    blog.upgrade(ARTICLE)
    break_revision(blog, statement)

    exit_code, document = blog.check_json()

    assert exit_code == 1
    load_error = finding(document, "script-load-error")
    assert load_error["evidence"]["line"] == BROKEN_LINE
    assert load_error["evidence"]["statement"] == statement
    assert load_error["evidence"]["error"].startswith(error)
    assert finding(document, "stale-current")["fixes"] == []
    refused = blog.migdoctor("upgrade")
    assert refused.exit_code == 1, refused
    assert "script-load-error" in refused.stdout
    fix = blog.migdoctor("fix", "upgrade", "--yes")
    assert fix.exit_code == 1, fix
    assert "fail when imported" in fix.stdout
    assert database.version_rows() == [ARTICLE]
    assert "comment" not in database.table_names()


# the child that imports the files: a fork of migdoctor (Linux), or a new interpreter (elsewhere,
# or when another thread runs)
STARTS = {"fork": {}, "spawn": {"MIGDOCTOR_IMPORT_SPAWN": "1"}}


@pytest.mark.parametrize("start", STARTS)
def test_offline_a_hanging_import_or_an_exiting_one_neither_hangs_nor_ends_migdoctor(
    tmp_path: Path, start: str
) -> None:
    project = copy_project("blog", tmp_path / "project", None)
    break_revision(project, "import time; time.sleep(600)")
    break_revision(
        project, "import os; os._exit(7)", "alembic/versions/2b3c4d5e6f70_create_article_table.py"
    )
    started = time.monotonic()

    result = project.migdoctor(
        "check",
        "--offline",
        "--format",
        "json",
        env={"MIGDOCTOR_IMPORT_TIMEOUT": "2", **STARTS[start]},
    )

    assert time.monotonic() - started < 30
    assert result.exit_code == 1, result
    errors = {
        Path(f["evidence"]["path"]).name[:12]: f["evidence"]
        for f in result.json()["findings"]
        if f["check"] == "script-load-error"
    }
    assert set(errors) == {ARTICLE, COMMENT}
    assert errors[ARTICLE]["error"].startswith(
        "ProcessExit: the import ended the process (exit status 7)"
    )
    assert errors[COMMENT]["error"].startswith("TimeoutError: importing the file did not finish")
    # where it hangs comes from the child's stack
    assert errors[COMMENT]["line"] == BROKEN_LINE
    # heads and history read the headers only: they work, and import nothing
    heads = project.migdoctor("heads")
    assert heads.exit_code == 0, heads
    assert COMMENT in heads.stdout


def test_offline_answers_are_cached_until_a_file_changes(tmp_path: Path) -> None:
    project = copy_project("blog", tmp_path / "project", None)
    marker = tmp_path / "imported.txt"
    path = break_revision(project, f"open({str(marker)!r}, 'a').write('imported ')")
    versions = list((project.root / "alembic" / "versions").glob("*.py"))
    age(*versions)

    first = project.migdoctor("check", "--offline")
    assert first.exit_code == 0, first
    assert "✓ script-load-error" in first.stdout
    assert marker.read_text() == "imported "

    second = project.migdoctor("check", "--offline")
    assert second.exit_code == 0, second
    assert marker.read_text() == "imported ", "a warm cache imports nothing"

    path.write_text(path.read_text().replace("'imported '", "'again '") + "undefined_name\n")
    age(path)
    third = project.migdoctor("check", "--offline", "--format", "json")
    assert third.exit_code == 1, third
    assert marker.read_text() == "imported again "
    evidence = finding(third.json(), "script-load-error")["evidence"]
    assert evidence["error"] == "NameError: name 'undefined_name' is not defined"
    assert evidence["line"] == len(path.read_text().splitlines())

    uncached = project.migdoctor("check", "--offline", env={"MIGDOCTOR_NO_CACHE": "1"})
    assert uncached.exit_code == 1
    assert marker.read_text() == "imported again again "


@pytest.mark.parametrize("start", STARTS)
def test_offline_exactly_the_revision_files_are_imported_in_order_cold_or_warm(
    tmp_path: Path, start: str
) -> None:
    # without a cache the files are imported while their headers are still being read: the
    # child must import exactly the revisions, in alembic's order, and no other file
    project = copy_project("blog", tmp_path / "project", None)
    marker = tmp_path / "imported.txt"
    versions = sorted((project.root / "alembic" / "versions").glob("*.py"))
    for path in versions:
        break_revision(
            project,
            f"open({str(marker)!r}, 'a').write({path.name[:12]!r} + ' ')",
            str(path.relative_to(project.root)),
        )
    # between the revisions: a file that is no revision, and one whose header does not parse
    (project.versions / "2a_helpers.py").write_text(
        f"open({str(marker)!r}, 'a').write('helpers ')\n"
    )
    (project.versions / "2c_broken.py").write_text(
        f"open({str(marker)!r}, 'a').write('broken ')\nrevision = (\n"
    )
    age(*project.versions.glob("*.py"))
    expected = " ".join(path.name[:12] for path in versions) + " "

    # no cache at all, an empty cache, then a warm one (which imports nothing)
    runs = [({"MIGDOCTOR_NO_CACHE": "1"}, expected), ({}, expected), ({}, "")]
    for environment, imported in runs:
        marker.write_text("")
        result = project.migdoctor(
            "check", "--offline", "--format", "json", env={**environment, **STARTS[start]}
        )
        assert result.exit_code == 1, result
        errors = [
            Path(f["evidence"]["path"]).name
            for f in result.json()["findings"]
            if f["check"] == "script-load-error"
        ]
        assert errors == ["2a_helpers.py", "2c_broken.py"]
        assert marker.read_text() == imported


def test_offline_a_package_listed_nowhere_is_said_so(tmp_path: Path) -> None:
    project = copy_project("blog", tmp_path / "project", None)
    break_revision(project, "from not_installed_pkg.money import Money")
    (project.root / "pyproject.toml").write_text(
        '[project]\nname = "blog"\nversion = "1"\ndependencies = ["sqlalchemy>=2", "alembic"]\n'
    )

    result = project.migdoctor("check", "--offline", "--format", "json")

    assert result.exit_code == 1, result
    load_error = finding(result.json(), "script-load-error")
    assert load_error["evidence"]["missing_module"] == "not_installed_pkg"
    assert load_error["evidence"]["declared_in"] == []
    assert "not listed in pyproject.toml" in load_error["message"]
    assert "Imported offline, without env.py" in load_error["message"]


def test_online_a_pending_revision_that_hangs_or_asks_for_input_is_named_not_waited_for(
    tmp_path: Path,
) -> None:
    project = copy_project("blog", tmp_path / "project", None)  # the fixture's SQLite file
    project.upgrade(USER)
    break_revision(project, "import time; time.sleep(600)")
    break_revision(
        project,
        "ANSWER = input('continue? ')",
        "alembic/versions/2b3c4d5e6f70_create_article_table.py",
    )
    started = time.monotonic()

    result = project.migdoctor(
        "check", "--format", "json", env={"MIGDOCTOR_IMPORT_TIMEOUT": "3"}, input="yes\n"
    )

    assert time.monotonic() - started < 60
    assert result.exit_code == 1, result
    document = result.json()
    errors = {
        Path(f["evidence"]["path"]).name[:12]: f["evidence"]
        for f in document["findings"]
        if f["check"] == "script-load-error"
    }
    assert errors[ARTICLE]["error"] == "EOFError: EOF when reading a line"
    assert errors[ARTICLE]["line"] == BROKEN_LINE
    assert errors[COMMENT]["error"].startswith("TimeoutError: importing the file did not finish")
    assert errors[COMMENT]["line"] == BROKEN_LINE
    assert finding(document, "stale-current")["fixes"] == []


def test_a_computed_header_whose_import_hangs_or_exits_is_named_by_heads_and_check(
    tmp_path: Path,
) -> None:
    project = copy_project("blog", tmp_path / "project", None)
    versions = project.root / "alembic" / "versions"
    # headers that only importing tells: read in a child, so these cannot take migdoctor along
    (versions / "4d5e6f708192_hangs.py").write_text(
        f"import time\ntime.sleep(600)\nrevision = '4d5e6f708192'\ndown_revision = '{COMMENT}'[:]\n"
    )
    (versions / "5e6f70819203_exits.py").write_text(
        "import os\nos._exit(5)\nrevision = '5e6f70819203'\ndown_revision = '4d5e6f708192'[:]\n"
    )
    (versions / "6f7081920314_computed.py").write_text(
        f"revision = '6f70' + '81920314'\ndown_revision = '{COMMENT}'[:]\n"
        "def upgrade():\n    pass\n\ndef downgrade():\n    pass\n"
    )
    started = time.monotonic()

    heads = project.migdoctor("heads", env={"MIGDOCTOR_IMPORT_TIMEOUT": "3"})

    # alembic, which prints when files fail, would hang here: migdoctor names the files instead
    assert time.monotonic() - started < 60
    assert heads.exit_code == 1, heads
    assert "4d5e6f708192_hangs.py:2: TimeoutError" in heads.stderr
    assert "5e6f70819203_exits.py: ProcessExit" in heads.stderr
    assert "Traceback" not in heads.output
    result = project.migdoctor(
        "check", "--offline", "--format", "json", env={"MIGDOCTOR_IMPORT_TIMEOUT": "3"}
    )
    assert result.exit_code == 1, result
    errors = {
        Path(f["evidence"]["path"]).name: f["evidence"]
        for f in result.json()["findings"]
        if f["check"] == "script-load-error"
    }
    assert errors["4d5e6f708192_hangs.py"]["error"].startswith("TimeoutError")
    assert errors["4d5e6f708192_hangs.py"]["line"] == 2
    assert errors["5e6f70819203_exits.py"]["error"].startswith(
        "ProcessExit: the import ended the process (exit status 5)"
    )
    assert "6f7081920314_computed.py" not in errors


def test_unloadable_files_are_findings_and_the_rest_is_checked(tmp_path: Path) -> None:
    blog = copy_project("blog", tmp_path / "blog", None)
    add_tag_revision(blog, down_revision=COMMENT)
    edit(blog, TAG_FILE, "def upgrade() -> None:", "def upgrade() -> None")
    broken_line = (blog.root / TAG_FILE).read_text().splitlines().index("def upgrade() -> None") + 1
    (blog.versions / "helpers.py").write_text("def now():\n    return 1\n")
    assert "SyntaxError" in blog.alembic("heads").output

    result = blog.migdoctor("check", "--offline")
    code, document = blog.check_json("--offline")

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert code == 1
    assert document["project"]["heads"] == [COMMENT]
    assert checks_found(document) == {"script-load-error"}
    errors = [f for f in document["findings"] if f["check"] == "script-load-error"]
    assert [(e["evidence"]["path"], e["code"]) for e in errors] == [
        (TAG_FILE, "MD205"),
        ("alembic/versions/helpers.py", "MD205"),
    ]
    syntax = errors[0]["evidence"]
    assert syntax["line"] == broken_line
    assert syntax["error"].startswith("SyntaxError")
    assert "Could not determine revision id" in errors[1]["evidence"]["error"]
    assert "checked the 3 other revision file(s)" in errors[0]["message"]


@pytest.mark.parametrize("server_database", ["mysql", "postgresql"], indirect=True)
def test_a_killed_check_leaves_no_session_behind_its_hanging_import(
    tmp_path: Path, server_database: Database
) -> None:
    # the child importing the files is a fork of migdoctor, which holds a connection to the
    # database: killed mid-import, migdoctor's session must end with it, not live on in the fork
    project = copy_project("blog", tmp_path / "project", server_database)
    project.upgrade(USER)
    marker = tmp_path / "importing"
    break_revision(
        project,
        f"import os, time; open({str(marker)!r}, 'w').write(str(os.getpid())); time.sleep(600)",
    )
    sessions = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        if server_database.backend == "postgresql"
        else "SELECT count(*) FROM information_schema.processlist WHERE db = database()"
    )
    alone = server_database.scalars(sessions)[0]
    check = subprocess.Popen(
        [*migdoctor_command(), "check"],
        cwd=project.root,
        env={**os.environ, "MIGDOCTOR_IMPORT_TIMEOUT": "120"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() or not marker.read_text():
            assert time.monotonic() < deadline, "the import never started"
            assert check.poll() is None, "migdoctor ended before importing"
            time.sleep(0.05)
        check.kill()
        check.wait()
        # the server sees the session end once no process holds its socket
        deadline = time.monotonic() + 20
        while server_database.scalars(sessions)[0] > alone:
            assert time.monotonic() < deadline, "migdoctor's session outlived it"
            time.sleep(0.2)
    finally:
        check.kill()
        with contextlib.suppress(ProcessLookupError, ValueError, OSError):
            os.kill(int(marker.read_text()), signal.SIGKILL)
