"""``pytest --migdoctor``: the project's migrations as test items.

Installed as a pytest plugin (entry point ``pytest11``), it does nothing unless ``--migdoctor``
is given. Then it adds, under ``migdoctor``:

- ``offline-check[SLUG]``: one item per check that reads the scripts only (a duplicate revision,
  a missing down_revision, a script that cannot load, …); it fails on the check's errors, and
  its warnings show in pytest's warnings summary;
- ``single-head``: the history has exactly one head;
- ``roundtrip``: every revision's downgrade undoes its upgrade (``migdoctor roundtrip``, on a
  scratch database it creates and drops);
- ``models-match-head``: the schema at head, built on that scratch database, matches the models.

Settings come from ``[tool.migdoctor]`` in the project's pyproject.toml (``config = "alembic.ini"``,
``scratch_url = "postgresql+psycopg://…/postgres"``), or from ``--migdoctor-config`` and
``--migdoctor-scratch-url``, which win. Each item runs the real ``migdoctor`` command in a child
process (the project's env.py and models are never imported into the test run) and fails with
migdoctor's own words, not a traceback.

Importing this module imports nothing of migdoctor, SQLAlchemy or alembic: pytest loads it in
every run, with ``--migdoctor`` or not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# exit codes of the migdoctor command (migdoctor.errors, not imported here: see above)
EXIT_CANNOT = 2
SINGLE_HEAD_CHECK = "multiple-heads"  # the single-head item says it


class MigdoctorWarning(UserWarning):
    """A warning or note of an offline check: shown, not failed."""


class MigdoctorProblem(Exception):
    """What migdoctor found: the item's failure, shown as is."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("migdoctor", "migdoctor: the project's Alembic migrations as tests")
    group.addoption(
        "--migdoctor",
        action="store_true",
        default=False,
        help="Add migdoctor's items: offline checks, single head, round trip, models at head.",
    )
    group.addoption(
        "--migdoctor-config",
        metavar="PATH",
        default=None,
        help="Alembic config file (default: [tool.migdoctor] config, else as alembic finds it).",
    )
    group.addoption(
        "--migdoctor-scratch-url",
        metavar="URL",
        default=None,
        help="MySQL/MariaDB or PostgreSQL server for the round trip's scratch database "
        "(default: [tool.migdoctor] scratch_url, else a temporary SQLite file).",
    )


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect: they apply to these items too
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not config.getoption("migdoctor"):
        return
    runs = MigdoctorRuns(_settings(config), config.rootpath)
    collector = MigdoctorCollector.from_parent(session, name="migdoctor", nodeid="migdoctor")
    collector.runs = runs
    added = collector.collect()
    # counted in "collected N items" as the items of any collector are
    config.hook.pytest_collectreport(
        report=pytest.CollectReport(collector.nodeid, "passed", None, list(added))
    )
    items.extend(added)


@dataclass
class Settings:
    config: str | None = None
    scratch_url: str | None = None


def _settings(config: pytest.Config) -> Settings:
    """``[tool.migdoctor]`` of the project's pyproject.toml, overridden by the options."""
    table: dict[str, Any] = {}
    pyproject = config.rootpath / "pyproject.toml"
    if pyproject.is_file():
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - the dependency for Python 3.10
            import tomli as tomllib
        try:
            table = tomllib.loads(pyproject.read_text()).get("tool", {}).get("migdoctor", {})
        except (OSError, ValueError) as error:
            raise pytest.UsageError(f"migdoctor: cannot read {pyproject}: {error}") from None
    # the settings of migdoctor itself (the ledger, ignore, large_table_rows) are read by the
    # command (project/settings.py, which says which keys there are)
    from migdoctor.project.settings import KNOWN

    known = set(KNOWN)
    unknown = sorted(set(table) - known)
    if unknown:
        raise pytest.UsageError(
            f"migdoctor: unknown setting(s) in [tool.migdoctor] of {pyproject}: "
            f"{', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    return Settings(
        config=config.getoption("migdoctor_config") or table.get("config"),
        scratch_url=config.getoption("migdoctor_scratch_url") or table.get("scratch_url"),
    )


@dataclass
class Run:
    """One run of the migdoctor command: its JSON report, or why there is none."""

    document: dict[str, Any] | None
    failure: str = ""


@dataclass
class MigdoctorRuns:
    """The two migdoctor commands the items read, each run once and kept."""

    settings: Settings
    root: Path
    _done: dict[str, Run] = field(default_factory=dict)

    def offline_check(self) -> Run:
        return self._run("check", "check", "--offline", "--format", "json")

    def roundtrip(self) -> Run:
        scratch = ["--scratch-url", self.settings.scratch_url] if self.settings.scratch_url else []
        return self._run("roundtrip", "roundtrip", "--format", "json", *scratch)

    def _run(self, key: str, *arguments: str) -> Run:
        if key not in self._done:
            config = ["-c", self.settings.config] if self.settings.config else []
            command = [sys.executable, "-m", "migdoctor", *config, *arguments]
            completed = subprocess.run(
                command,
                cwd=self.root,
                capture_output=True,
                text=True,
                env={**os.environ, "NO_COLOR": "1"},
                check=False,
            )
            self._done[key] = _read(completed)
        return self._done[key]


def _read(completed: subprocess.CompletedProcess[str]) -> Run:
    if completed.returncode == EXIT_CANNOT or not completed.stdout.strip():
        said = completed.stderr.strip() or f"migdoctor exited with {completed.returncode}"
        return Run(None, f"migdoctor could not run:\n{said}")
    try:
        return Run(json.loads(completed.stdout))
    except ValueError:
        return Run(None, f"migdoctor's report could not be read:\n{completed.stdout[:2000]}")


class MigdoctorCollector(pytest.Collector):
    """The ``migdoctor`` node the items hang from."""

    runs: MigdoctorRuns

    def collect(self) -> list[pytest.Item]:
        from migdoctor.checks import all_checks  # only with --migdoctor, at collection

        items: list[pytest.Item] = [
            OfflineCheckItem.from_parent(self, name=f"offline-check[{check.slug}]", slug=check.slug)
            for check in all_checks()
            if not check.needs_database and check.slug != SINGLE_HEAD_CHECK
        ]
        items.append(SingleHeadItem.from_parent(self, name="single-head"))
        items.append(RoundtripItem.from_parent(self, name="roundtrip"))
        items.append(ModelsMatchHeadItem.from_parent(self, name="models-match-head"))
        return items


class MigdoctorItem(pytest.Item):
    """An item whose failure is migdoctor's message, not a traceback."""

    @property
    def runs(self) -> MigdoctorRuns:
        parent = self.parent
        assert isinstance(parent, MigdoctorCollector)
        return parent.runs

    def report(self, run: Run) -> dict[str, Any]:
        if run.document is None:
            raise MigdoctorProblem(run.failure)
        return run.document

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, MigdoctorProblem):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"migdoctor {self.name}"


class OfflineCheckItem(MigdoctorItem):
    def __init__(self, *, slug: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.slug = slug

    def runtest(self) -> None:
        document = self.report(self.runs.offline_check())
        findings = [f for f in document["findings"] if f["check"] == self.slug]
        for finding in findings:
            if finding["severity"] != "error":
                warnings.warn(MigdoctorWarning(_finding_text(finding)), stacklevel=1)
        errors = [f for f in findings if f["severity"] == "error"]
        if errors:
            raise MigdoctorProblem("\n\n".join(_finding_text(f) for f in errors))


def _finding_text(finding: dict[str, Any]) -> str:
    lines = [f"{finding['check']} ({finding['code']}): {finding['title']}", finding["message"]]
    lines += [f"  fix: {fix['command']}" for fix in finding.get("fixes", ()) if fix.get("command")]
    return "\n".join(lines)


class SingleHeadItem(MigdoctorItem):
    def runtest(self) -> None:
        document = self.report(self.runs.offline_check())
        heads = document["project"]["heads"]
        if len(heads) == 1:
            return
        if not heads:
            raise MigdoctorProblem("The history has no head: there is no revision yet.")
        found = [f for f in document["findings"] if f["check"] == SINGLE_HEAD_CHECK]
        detail = "\n\n" + "\n\n".join(_finding_text(f) for f in found) if found else ""
        raise MigdoctorProblem(f"The history has {len(heads)} heads: {', '.join(heads)}.{detail}")


class RoundtripItem(MigdoctorItem):
    def runtest(self) -> None:
        document = self.report(self.runs.roundtrip())
        lines = []
        for revision in document["revisions"]:
            if not revision["problem"]:
                continue
            label = revision["revision"]
            if revision["message"]:
                label += f" ({revision['message']})"
            lines.append(f"{label}: {revision['verdict']}")
            for key, step in (("upgrade_error", "upgrade()"), ("downgrade_error", "downgrade()")):
                if revision[key]:
                    lines.append(f"    {step} raised {revision[key]}")
            lines += [
                f"    - {change['change']}: {change['description']}"
                for change in revision["downgrade_differences"]
            ]
        if document["upgrade_to_head_error"]:
            lines.append(f"upgrade to head again failed: {document['upgrade_to_head_error']}")
        if lines:
            where = document["scratch"]["database"]
            raise MigdoctorProblem(f"Round trip on {where}:\n" + "\n".join(lines))


class ModelsMatchHeadItem(MigdoctorItem):
    def runtest(self) -> None:
        models = self.report(self.runs.roundtrip())["models"]
        if models["differences"]:
            raise MigdoctorProblem(
                "The models differ from the schema the migrations build at head:\n"
                + "\n".join(f"  - {difference}" for difference in models["differences"])
            )
        if not models["compared"]:
            reason = models["not_compared_because"]
            if reason and "target_metadata" in reason:
                pytest.skip(f"models not compared: {reason}")
            raise MigdoctorProblem(f"The models could not be compared with the head: {reason}.")
