"""``check --format sarif`` and ``--format github``: the reports CI reads, from the installed CLI on
real fixture projects, offline and on every database.

The SARIF document is validated against the SARIF 2.1.0 object model (sarif-pydantic's models,
with every property of ours required to be one the model knows) and read back by sarif-tools'
own ``sarif summary``; the annotations are compared line for line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sarif_pydantic import Sarif

from tests.helpers import (
    ARTICLE,
    ARTICLE_FILE,
    COMMENT,
    COMMENT_FILE,
    USER,
    Project,
    add_revision,
    run,
)

# SARIF 2.1.0 invocation properties (§3.20.13 toolExecutionNotifications, §3.20.21 exitCode)
# that sarif-pydantic's Invocation model does not declare
UNMODELLED = {"exitCode", "toolExecutionNotifications"}


def revision_line(project: Project, relative: str) -> int:
    """The line of the file's module-level ``revision`` statement, as a reader finds it."""
    lines = (project.root / relative).read_text().splitlines()
    return next(
        number
        for number, line in enumerate(lines, start=1)
        if line.startswith(("revision =", "revision:"))
    )


def sarif_document(project: Project, *args: str, expected_exit: int) -> dict[str, Any]:
    """The SARIF report of ``check``, validated and read back by sarif-tools."""
    result = project.migdoctor("check", "--format", "sarif", *args)
    assert result.exit_code == expected_exit, result
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["version"] == "2.1.0"
    model = Sarif.model_validate(document)
    assert not (set(_unknown_properties(model)) - UNMODELLED), _unknown_properties(model)
    report = project.root / "migdoctor.sarif"
    report.write_text(result.stdout)
    summary = subprocess.run(
        [str(Path(sys.executable).parent / "sarif"), "summary", str(report)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    levels = [r["level"] for r in document["runs"][0]["results"]]
    for level in ("error", "warning", "note"):
        assert f"{level}: {levels.count(level)}" in summary, summary
    return document


def _unknown_properties(value: Any) -> list[str]:
    """Every property name the SARIF object model does not know, wherever it is."""
    found: list[str] = []
    if isinstance(value, BaseModel):
        found += list(value.model_extra or {})
        for name in type(value).model_fields:
            found += _unknown_properties(getattr(value, name))
    elif isinstance(value, (list, tuple)):
        for item in value:
            found += _unknown_properties(item)
    return found


def rules_by_id(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["id"]: rule for rule in document["runs"][0]["tool"]["driver"]["rules"]}


def physical(location: dict[str, Any]) -> tuple[str, str | None, int | None]:
    place = location["physicalLocation"]
    region = place.get("region", {})
    artifact = place["artifactLocation"]
    return artifact["uri"], artifact.get("uriBaseId"), region.get("startLine")


def annotations(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("::")]


def test_offline_duplicate_revision_in_sarif_and_github(blog_offline: Project) -> None:
    copy = "alembic/versions/3c4d5e6f7081_zz_copy.py"
    shutil.copy(blog_offline.root / COMMENT_FILE, blog_offline.root / copy)
    # alembic reads the copy last and uses it: the declaration it ignores is the original's
    line = revision_line(blog_offline, COMMENT_FILE)

    document = sarif_document(blog_offline, "--offline", expected_exit=1)

    run_ = document["runs"][0]
    (result,) = run_["results"]
    assert result["ruleId"] == "MD203"
    assert result["level"] == "error"
    assert physical(result["locations"][0]) == (COMMENT_FILE, "%SRCROOT%", line)
    assert [physical(r) for r in result["relatedLocations"]] == [
        (copy, "%SRCROOT%", revision_line(blog_offline, copy))
    ]
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == blog_offline.root.as_uri() + "/"
    rule = rules_by_id(document)["MD203"]
    assert rule["name"] == "duplicate-revision"
    assert rule["defaultConfiguration"]["level"] == "error"
    explained = blog_offline.migdoctor("explain", "duplicate-revision").stdout
    assert (
        rule["fullDescription"]["text"].split()[:6]
        == explained.split("What it detects")[1].split()[:6]
    )
    assert "How to fix" in rule["help"]["text"]
    assert run_["invocations"][0]["executionSuccessful"] is True
    assert run_["invocations"][0]["exitCode"] == 1

    github = blog_offline.migdoctor("check", "--offline", "--format", "github")

    assert github.exit_code == 1, github
    (annotation,) = annotations(github.stdout)
    assert annotation.startswith(
        f"::error file={COMMENT_FILE},line={line},"
        f"title=Revision {COMMENT} is declared by 2 files (duplicate-revision)::"
        f"Revision {COMMENT} is declared by 2 files: {COMMENT_FILE}, {copy}."
    )
    assert "\n" not in annotation
    assert github.stdout.splitlines()[-1].startswith("migdoctor: 1 error(s), 0 warning(s)")


def test_offline_multiple_heads_point_at_each_head(blog_offline: Project) -> None:
    other = add_revision(blog_offline, "9f8e7d6c5b4a", ARTICLE, "pass", message="other branch")
    other_file = str(other.relative_to(blog_offline.root))

    document = sarif_document(blog_offline, "--offline", expected_exit=1)

    (result,) = document["runs"][0]["results"]
    assert result["ruleId"] == "MD201"
    places = [physical(result["locations"][0])] + [physical(r) for r in result["relatedLocations"]]
    assert sorted(places) == sorted(
        [
            (COMMENT_FILE, "%SRCROOT%", revision_line(blog_offline, COMMENT_FILE)),
            (other_file, "%SRCROOT%", revision_line(blog_offline, other_file)),
        ]
    )
    assert "migdoctor fix merge-heads" in result["message"]["text"]


def test_healthy_offline_reports_nothing(blog_offline: Project) -> None:
    document = sarif_document(blog_offline, "--offline", expected_exit=0)

    assert document["runs"][0]["results"] == []
    skipped = document["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert {n["message"]["text"] for n in skipped} >= {"stale-current skipped: needs the database"}

    github = blog_offline.migdoctor("check", "--offline", "--format", "github")
    assert github.exit_code == 0, github
    assert annotations(github.stdout) == []


def test_database_behind_head_is_annotated_on_the_next_revision(blog: Project) -> None:
    blog.upgrade(USER)
    line = revision_line(blog, ARTICLE_FILE)

    document = sarif_document(blog, expected_exit=1)

    (result,) = document["runs"][0]["results"]
    assert result["ruleId"] == "MD101"
    assert physical(result["locations"][0]) == (ARTICLE_FILE, "%SRCROOT%", line)
    assert result["properties"]["evidence"]["current"] == [USER]
    assert "migdoctor fix upgrade" in result["message"]["text"]

    github = blog.migdoctor("check", "--format", "github")

    assert github.exit_code == 1, github
    assert annotations(github.stdout) == [
        f"::error file={ARTICLE_FILE},line={line},"
        "title=The database is behind the head revision (stale-current)::"
        f"The database is at {USER}; the scripts' head is {COMMENT}. "
        f"2 revisions not applied yet: {ARTICLE}, {COMMENT}."
        "%0AFix (safe): migdoctor fix upgrade"
    ]


def test_could_not_check_is_still_a_document(tmp_path: Path) -> None:
    nowhere = Project(tmp_path, None)

    document = sarif_document(nowhere, expected_exit=2)

    (invocation,) = document["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    (notification,) = invocation["toolExecutionNotifications"]
    assert notification["level"] == "error"
    assert "No Alembic configuration found" in notification["message"]["text"]
    assert document["runs"][0]["results"] == []

    github = nowhere.migdoctor("check", "--format", "github")

    assert github.exit_code == 2
    (annotation,) = annotations(github.stdout)
    assert annotation.startswith(
        "::error title=migdoctor could not check::migdoctor: No Alembic configuration found"
    )
    assert "%0A" in annotation  # the hint, on the annotation's second line
    assert "No Alembic configuration found" in github.stderr


def test_every_format_is_named_in_help_and_errors(tmp_path: Path) -> None:
    from tests.helpers import migdoctor_command

    wrong = run([*migdoctor_command(), "check", "--format", "xml"], tmp_path)
    assert wrong.exit_code == 2
    assert "choose text, json, sarif or github" in wrong.stderr
    helped = run([*migdoctor_command(), "check", "--help"], tmp_path)
    assert all(name in helped.stdout for name in ("text", "json", "sarif", "github"))


def test_json_is_also_asked_for_with_json(blog_offline: Project) -> None:
    # typed in the field test of JupyterHub; typer answered "No such option: --json (Possible
    # options: --jobs)"
    asked = blog_offline.migdoctor("check", "--offline", "--json")
    both = blog_offline.migdoctor("check", "--offline", "--json", "--format", "sarif")

    assert asked.exit_code == 0, asked
    assert asked.json()["schema_version"] == 1
    assert asked.json()["findings"] == []
    assert both.exit_code == 2, both
    assert "--json and --format sarif ask for two formats" in both.stderr
