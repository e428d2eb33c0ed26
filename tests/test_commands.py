"""explain, list-checks, demo and the migrate commands, through the installed CLI; and the
documentation of every check and every fix, from its module."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migdoctor.checks import DOC_SECTIONS, all_checks
from migdoctor.fixes import FIX_DOC_SECTIONS, FIX_MODULES, fix_doc, fix_module
from tests.conftest import Database
from tests.helpers import Project, migdoctor_command, run

USER, ARTICLE, COMMENT = "1a2b3c4d5e6f", "2b3c4d5e6f70", "3c4d5e6f7081"


@pytest.mark.parametrize("check", all_checks(), ids=lambda c: c.slug)
def test_every_check_documents_itself(check, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for section in DOC_SECTIONS:
        assert check.section(section), f"{check.slug} lacks '{section}'"

    result = run([*migdoctor_command(), "explain", check.slug], tmp_path)

    assert result.exit_code == 0, result
    for section in DOC_SECTIONS:
        assert section in result.stdout
    assert check.code in result.stdout
    by_code = run([*migdoctor_command(), "explain", check.code], tmp_path)
    assert by_code.stdout == result.stdout


@pytest.mark.parametrize("fix_id", list(FIX_MODULES))
def test_every_fix_documents_itself(fix_id: str, tmp_path: Path) -> None:
    """A fix module's docstring is its documentation: ``<fix id>: what it does``, then what it
    does, its risk (the one the module declares) and how undo reverts it; ``explain`` prints it."""
    module = fix_module(fix_id)
    doc = (module.__doc__ or "").strip()

    assert doc.startswith(f"{fix_id}: "), f"{fix_id}'s docstring does not start with its id"
    summary = doc.splitlines()[0].removeprefix(f"{fix_id}: ").strip()
    assert summary, f"{fix_id} has no summary"
    assert fix_id == module.FIX_ID
    sections = {name: fix_doc(fix_id).section(name) for name in FIX_DOC_SECTIONS}
    for name, text in sections.items():
        assert text, f"{fix_id} lacks '{name}'"
    assert sections["Risk"].startswith(module.RISK.value), "the docstring's risk is not RISK"
    assert "undo" in sections["Undo"].lower()

    result = run([*migdoctor_command(), "explain", fix_id], tmp_path)

    assert result.exit_code == 0, result
    assert result.stdout.startswith(f"{fix_id} (fix, risk: {module.RISK.value}): {summary}")
    for name, text in sections.items():
        assert f"\n{name}\n" in result.stdout
        assert " ".join(text.split()) in " ".join(result.stdout.split())


def test_list_fixes(tmp_path: Path) -> None:
    listed = run([*migdoctor_command(), "list-fixes"], tmp_path)

    assert listed.exit_code == 0, listed
    rows = {
        line.split()[0]: line.split()[1]
        for line in listed.stdout.splitlines()[1:]
        if line[:1].strip()
    }
    for fix_id in FIX_MODULES:
        assert rows[fix_id] == fix_module(fix_id).RISK.value


def test_list_checks_and_unknown_explain(tmp_path: Path) -> None:
    listed = run([*migdoctor_command(), "list-checks"], tmp_path)
    assert listed.exit_code == 0
    for check in all_checks():
        assert check.slug in listed.stdout and check.code in listed.stdout

    unknown = run([*migdoctor_command(), "explain", "nope"], tmp_path)
    assert unknown.exit_code == 2
    assert "no check or fix named 'nope'" in unknown.stderr
    hint = unknown.stderr.splitlines()[1]
    assert all(check.slug in hint for check in all_checks())
    assert all(fix_id in hint for fix_id in FIX_MODULES)


@pytest.mark.parametrize(
    "scenario, findings",
    [
        ("table-exists", {"table-exists", "stale-current"}),
        ("unknown-revision", {"unknown-revision"}),
        ("stale-current", {"stale-current"}),
    ],
)
def test_demo_writes_a_broken_sandbox(tmp_path: Path, scenario: str, findings: set[str]) -> None:
    result = run(
        [*migdoctor_command(), "demo", "--dir", "sandbox", "--scenario", scenario], tmp_path
    )

    assert result.exit_code == 0, result
    assert "migdoctor check" in result.stdout
    check = run([*migdoctor_command(), "check", "--format", "json"], tmp_path / "sandbox")
    assert check.exit_code == 1, check
    # exactly the scenario's problem: the demo project is otherwise healthy
    assert {f["check"] for f in json.loads(check.stdout)["findings"]} == findings
    offline = run(
        [*migdoctor_command(), "check", "--offline", "--format", "json"], tmp_path / "sandbox"
    )
    assert offline.exit_code == 0, offline
    assert json.loads(offline.stdout)["findings"] == []
    # -c from outside the folder works too
    outside = run([*migdoctor_command(), "check", "-c", "sandbox/alembic.ini"], tmp_path)
    assert outside.exit_code == 1


def test_demo_does_not_overwrite_what_is_not_a_demo(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "precious.txt").write_text("keep")

    refused = run([*migdoctor_command(), "demo", "--dir", "mine", "--force"], tmp_path)

    assert refused.exit_code == 2
    assert "not a migdoctor demo" in refused.stderr
    assert (tmp_path / "mine" / "precious.txt").read_text() == "keep"
    first = run([*migdoctor_command(), "demo", "--dir", "demo"], tmp_path)
    again = run([*migdoctor_command(), "demo", "--dir", "demo"], tmp_path)
    replaced = run(
        [*migdoctor_command(), "demo", "--dir", "demo", "--force", "--scenario", "stale-current"],
        tmp_path,
    )
    assert (first.exit_code, again.exit_code, replaced.exit_code) == (0, 2, 0)


def test_migrate_commands_work_like_alembic(blog: Project, database: Database) -> None:
    assert blog.migdoctor("upgrade", USER).exit_code == 0
    assert database.version_rows() == [USER]
    assert blog.migdoctor("upgrade").exit_code == 0  # default: all heads
    assert database.version_rows() == [COMMENT]
    assert {"user", "article", "comment"} <= database.table_names()

    current = blog.migdoctor("current")
    assert current.stdout.strip() == f"{COMMENT} (head)"
    heads = blog.migdoctor("heads")
    assert heads.stdout.strip() == blog.alembic("heads").stdout.strip()
    history = blog.migdoctor("history")
    assert history.stdout == blog.alembic("history").stdout

    downgraded = blog.migdoctor("downgrade", "-1")
    assert downgraded.exit_code == 0, downgraded
    # where it lands, not "Downgrade to -1" (seen on JupyterHub)
    assert f"Downgrade 1 revision, to {ARTICLE}" in downgraded.stdout
    assert database.version_rows() == [ARTICLE]
    assert "comment" not in database.table_names()
    assert blog.migdoctor("current", "--check-heads").exit_code == 1

    assert blog.migdoctor("stamp", USER).exit_code == 0
    assert database.version_rows() == [USER]
    assert blog.migdoctor("stamp", "--purge", "head").exit_code == 0
    assert database.version_rows() == [COMMENT]

    revision = blog.migdoctor("revision", "-m", "add tags", "--rev-id", "4d5e6f708192")
    assert revision.exit_code == 0, revision
    assert (blog.versions / "4d5e6f708192_add_tags.py").exists()
    assert blog.migdoctor("heads").stdout.strip() == "4d5e6f708192 (head)"


def test_migrate_command_failure_is_one_line(blog: Project) -> None:
    result = blog.migdoctor("downgrade", "nosuchrev")

    assert result.exit_code == 1, result
    assert "Can't locate revision identified by 'nosuchrev'" in result.output
    assert "Traceback" not in result.output


def test_autogenerate_and_merge(blog: Project, database: Database) -> None:
    # migdoctor's upgrade writes its ledger table, which no revision made: a revision
    # autogenerated through migdoctor must not drop it
    assert blog.migdoctor("upgrade").exit_code == 0
    assert "migdoctor_ledger" in database.table_names()
    models = blog.root / "models.py"
    models.write_text(
        models.read_text().replace(
            "    email = Column(String(120), nullable=False)\n",
            "    email = Column(String(120), nullable=False)\n    bio = Column(Text)\n",
        )
    )
    generated = blog.migdoctor(
        "revision", "--autogenerate", "-m", "add bio", "--rev-id", "aaaa00000001"
    )
    assert generated.exit_code == 0, generated
    text = (blog.versions / "aaaa00000001_add_bio.py").read_text()
    assert "op.add_column('user', sa.Column('bio'" in text
    assert "migdoctor_ledger" not in text

    other = blog.migdoctor(
        "revision", "-m", "side branch", "--rev-id", "bbbb00000002", "--head", COMMENT, "--splice"
    )
    assert other.exit_code == 0, other
    merged = blog.migdoctor("merge", "heads", "-m", "merge", "--rev-id", "cccc00000003")
    assert merged.exit_code == 0, merged
    assert blog.migdoctor("heads").stdout.strip() == "cccc00000003 (head)"


def test_init_creates_an_environment(tmp_path: Path) -> None:
    result = run([*migdoctor_command(), "init", "migrations"], tmp_path)

    assert result.exit_code == 0, result
    assert (tmp_path / "migrations" / "env.py").exists()
    assert (tmp_path / "alembic.ini").exists()
    check = run([*migdoctor_command(), "check", "--offline"], tmp_path)
    assert check.exit_code == 0, check


def test_alembic_refusal_points_to_check(blog: Project) -> None:
    blog.upgrade(USER)

    result = blog.migdoctor("revision", "--autogenerate", "-m", "too early")

    assert result.exit_code == 1
    assert "FAILED: Target database is not up to date." in result.stderr
    assert "migdoctor check names what is wrong" in result.stderr


# Netflix/dispatch's tenant env.py stops its loop over tenant schemas on
# ``context.config.cmd_opts.cmd == "revision"``; alembic's command line always sets ``cmd`` (and
# every option of the command, e.g. ``autogenerate``), so env.py files read them without getattr.
COMMAND_SEEN_BY_ENV_PY = """
with open(os.path.join(os.path.dirname(__file__), "commands.log"), "a") as log:
    log.write(
        f"{config.cmd_opts.cmd[0].__name__} {config.cmd_opts.x} {config.cmd_opts.sql}\\n"
        if config.cmd_opts.cmd[0].__name__ in ("upgrade", "downgrade", "stamp")
        else f"{config.cmd_opts.cmd[0].__name__} {config.cmd_opts.x}\\n"
    )
"""


def test_env_py_sees_the_command_line_alembic_would_give_it(
    blog: Project, database: Database
) -> None:
    env_py = blog.root / "alembic" / "env.py"
    env_py.write_text(
        env_py.read_text().replace(
            "target_metadata = models.Base.metadata\n",
            "target_metadata = models.Base.metadata\n" + COMMAND_SEEN_BY_ENV_PY,
        )
    )
    log = blog.root / "alembic" / "commands.log"
    log.touch()

    def env_py_runs(*args: str, exit_code: int = 0) -> set[str]:
        before = len(log.read_text().splitlines())
        assert blog.migdoctor(*args).exit_code == exit_code
        return set(log.read_text().splitlines()[before:])

    # an upgrade reads (its preflight) as ``alembic current`` does, then upgrades
    assert env_py_runs("upgrade", USER) == {"current None", "upgrade None False"}
    assert env_py_runs("check", "-x", "tenant=a", exit_code=1) == {"current ['tenant=a']"}
    assert "downgrade None False" in env_py_runs("downgrade", "base")
    assert "stamp None False" in env_py_runs("stamp", USER)
    assert env_py_runs("current") == {"current None"}
    assert database.version_rows() == [USER]
