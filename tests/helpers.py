"""Drive migdoctor and alembic the way a user does: real commands in the project's folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.conftest import Database

REPOSITORY = Path(__file__).resolve().parent.parent
FIXTURES = REPOSITORY / "fixtures"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def migdoctor_command() -> list[str]:
    """The installed console script when there is one, as a user would run it."""
    script = Path(sys.executable).parent / "migdoctor"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "migdoctor"]


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return (
            f"<Result exit={self.exit_code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}>"
        )


def run(
    command: list[str],
    cwd: Path,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> Result:
    environment = dict(os.environ)
    environment.update({"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb", "PYTHONHASHSEED": "0"})
    environment.pop("ALEMBIC_CONFIG", None)
    if env:
        environment.update(env)
    completed = subprocess.run(
        command,
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
    )
    return Result(
        completed.returncode, ANSI.sub("", completed.stdout), ANSI.sub("", completed.stderr)
    )


class Project:
    """A fixture project copied to a temporary folder."""

    def __init__(self, root: Path, database: Database | None) -> None:
        self.root = root
        self.database = database

    @property
    def ini(self) -> Path:
        return self.root / "alembic.ini"

    @property
    def versions(self) -> Path:
        return self.root / "alembic" / "versions"

    def migdoctor(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Result:
        return run(migdoctor_command() + list(args), cwd or self.root, input=input, env=env)

    def alembic(self, *args: str, env: dict[str, str] | None = None) -> Result:
        result = run([sys.executable, "-m", "alembic", *args], self.root, env=env)
        return result

    def upgrade(self, revision: str = "head") -> None:
        """Bring the database to ``revision`` with alembic itself."""
        result = self.alembic("upgrade", revision)
        assert result.exit_code == 0, result

    def check_json(self, *args: str) -> tuple[int, dict[str, Any]]:
        result = self.migdoctor("check", "--format", "json", *args)
        assert result.exit_code in (0, 1), result
        return result.exit_code, result.json()

    def set_url(self, url: str) -> None:
        set_ini_option(self.ini, "alembic", "sqlalchemy.url", url.replace("%", "%%"))


def set_ini_option(ini: Path, section: str, option: str, value: str) -> None:
    """Change one option in an ini file, keeping the rest of the file as it is."""
    text = ini.read_text()
    pattern = re.compile(rf"^{re.escape(option)}\s*=.*$", re.MULTILINE)
    line = f"{option} = {value}"
    if pattern.search(text):
        text = pattern.sub(lambda _: line, text, count=1)
    else:
        text = text.replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1)
    ini.write_text(text)


def copy_project(name: str, destination: Path, database: Database | None) -> Project:
    shutil.copytree(
        FIXTURES / name, destination, ignore=shutil.ignore_patterns("__pycache__", "*.db")
    )
    project = Project(destination, database)
    if database is not None and project.ini.exists():
        project.set_url(database.url)
    return project


def overlay(project: Project, name: str) -> None:
    """Copy the fixture ``name`` over ``project``: files it adds or replaces (a revision and the
    models that go with it, say)."""
    shutil.copytree(
        FIXTURES / name,
        project.root,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.db"),
    )


def finding(document: dict[str, Any], check: str) -> dict[str, Any]:
    """The one finding of ``check`` in a JSON report (fails when there is not exactly one)."""
    found = [f for f in document["findings"] if f["check"] == check]
    assert len(found) == 1, (
        f"expected one {check} finding, got {[f['check'] for f in document['findings']]}"
    )
    return found[0]


def checks_found(document: dict[str, Any]) -> set[str]:
    return {f["check"] for f in document["findings"]}


def load_module_from(path: Path) -> Any:
    """Import a fixture project's module by path, without touching sys.modules."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"fixture_{path.stem}_{id(path)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PROMPT = re.compile(rb"(\[[^\]\n]*\]\s*(\([^)\n]*\))?\s*:\s*)$")


def run_in_terminal(
    command: list[str],
    cwd: Path,
    answers: list[str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> Result:
    """Run ``command`` on a pseudo-terminal, answering each prompt with the next of ``answers``
    (None: press Enter at every prompt, as a hurried user does)."""
    import pty
    import select
    import time

    environment = dict(os.environ)
    environment.update({"COLUMNS": "200", "LINES": "50", "NO_COLOR": "1", "TERM": "xterm"})
    environment.pop("ALEMBIC_CONFIG", None)
    if env:
        environment.update(env)
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        command, cwd=cwd, stdin=secondary, stdout=secondary, stderr=secondary, env=environment
    )
    os.close(secondary)
    output = b""
    answered_at = 0
    pending = list(answers) if answers is not None else None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
            elif process.poll() is not None:
                break
            unanswered = output[answered_at:]
            if PROMPT.search(ANSI.sub("", unanswered.decode("utf-8", "replace")).encode()):
                answer = "" if pending is None else (pending.pop(0) if pending else "q")
                os.write(primary, answer.encode() + b"\r")
                answered_at = len(output)
        process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
        os.close(primary)
    text = ANSI.sub("", output.decode("utf-8", "replace")).replace("\r\n", "\n")
    return Result(process.returncode, text, "")


def add_revision(
    project: Project,
    revision: str,
    down_revision: str | None,
    upgrade: str,
    downgrade: str = "pass",
    message: str = "change",
    imports: str = "",
) -> Path:
    """Write a revision file the way a developer would, into the project's versions folder."""
    body = "\n".join("    " + line for line in upgrade.strip().splitlines())
    down_body = "\n".join("    " + line for line in downgrade.strip().splitlines())
    path = project.versions / f"{revision}_{message.replace(' ', '_')}.py"
    path.write_text(
        f'"""{message}\n\nRevision ID: {revision}\nRevises: {down_revision or ""}\n"""\n'
        f"from alembic import op\nimport sqlalchemy as sa\n{imports}\n\n"
        f"revision = {revision!r}\ndown_revision = {down_revision!r}\n"
        "branch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade():\n{body}\n\n\ndef downgrade():\n{down_body}\n"
    )
    return path


def create_article_outside_migrations(database: Database, foreign_key: bool = True) -> None:
    """The article table made outside the migrations (metadata.create_all(), say)."""
    import sqlalchemy as sa

    metadata = sa.MetaData()
    engine = database.engine()
    if foreign_key:
        sa.Table("user", metadata, autoload_with=engine)
    sa.Table(
        "article",
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer(),
            *([sa.ForeignKey("user.id")] if foreign_key else []),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP")),
    ).create(engine)
    engine.dispose()
