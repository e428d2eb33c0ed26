"""Configuration is found and read exactly as alembic finds and reads it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from migdoctor.errors import ConfigNotFound, MigdoctorError
from migdoctor.project.config import ConfigOptions, config_file_names, load_config
from tests.helpers import copy_project


def alembic_view(
    config_args: list[str], name: str, environ: dict[str, str]
) -> tuple[Path, list[Path], str | None]:
    """What alembic's own command line would use: script dir, version locations, URL."""
    from alembic.config import CommandLine, Config
    from alembic.script import ScriptDirectory

    cli = CommandLine()
    words = [word for path in config_args for word in ("-c", path)]
    options = cli.parser.parse_args([*words, "-n", name, "heads"])
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environ)
    try:
        toml, ini = cli._inis_from_config(options)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    config = Config(file_=ini, toml_file=toml, ini_section=name, cmd_opts=options)
    path = list(sys.path)
    try:
        script = ScriptDirectory.from_config(config)
        url = (
            config.get_main_option("sqlalchemy.url")
            if config.file_config.has_section(name)
            else None
        )
        return (
            Path(script.dir).absolute(),
            [Path(p).absolute() for p in script._version_locations],
            url,
        )
    finally:
        sys.path[:] = path


CASES = {
    "plain ini": (
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\nsqlalchemy.url = sqlite:///a.db\n"
        },
        [],
        "alembic",
        {},
    ),
    "here and os separator": (
        {
            "alembic.ini": "[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n"
            "version_locations = %(here)s/migrations/versions:%(here)s/extra\n"
        },
        [],
        "alembic",
        {},
    ),
    "legacy space separated locations": (
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n"
            "version_locations = migrations/versions, extra other\n"
        },
        [],
        "alembic",
        {},
    ),
    "named section": (
        {
            "conf/app.ini": "[alembic]\nscript_location = nope\n"
            "[blue]\nscript_location = migrations\n"
        },
        ["conf/app.ini"],
        "blue",
        {},
    ),
    "pyproject only": (
        {
            "pyproject.toml": '[tool.alembic]\nscript_location = "%(here)s/migrations"\n'
            'version_locations = ["%(here)s/migrations/versions", "%(here)s/extra"]\n'
        },
        [],
        "alembic",
        {},
    ),
    "ini wins over pyproject": (
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\nsqlalchemy.url = sqlite://\n",
            "pyproject.toml": '[tool.alembic]\nscript_location = "elsewhere"\n',
        },
        [],
        "alembic",
        {},
    ),
    "ALEMBIC_CONFIG": (
        {"deploy/prod.ini": "[alembic]\nscript_location = migrations\n"},
        [],
        "alembic",
        {"ALEMBIC_CONFIG": "deploy/prod.ini"},
    ),
    "ini plus pyproject both given": (
        {
            "settings/alembic.ini": "[alembic]\nsqlalchemy.url = sqlite:///b.db\n",
            "pyproject.toml": '[tool.alembic]\nscript_location = "migrations"\n',
        },
        ["settings/alembic.ini", "pyproject.toml"],
        "alembic",
        {},
    ),
}


@pytest.mark.filterwarnings("ignore:No path_separator found:DeprecationWarning")
@pytest.mark.parametrize("case", list(CASES))
def test_configuration_matches_alembic(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files, given, name, environ = CASES[case]
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    for folder in ("migrations/versions", "extra", "other"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(tmp_path)

    expected_dir, expected_locations, expected_url = alembic_view(given, name, environ)
    ours = load_config(ConfigOptions(config=tuple(given), name=name), environ=environ)

    assert ours.script_location == expected_dir
    assert list(ours.version_locations) == expected_locations
    assert ours.sqlalchemy_url == expected_url


def test_file_names_follow_alembic_rules() -> None:
    assert config_file_names([], {}) == ("pyproject.toml", "alembic.ini")
    assert config_file_names([], {"ALEMBIC_CONFIG": "x/pyproject.toml"}) == (
        "x/pyproject.toml",
        "alembic.ini",
    )
    assert config_file_names(["a.ini", "b/pyproject.toml"], {}) == ("b/pyproject.toml", "a.ini")
    with pytest.raises(MigdoctorError):
        config_file_names(["a.ini", "b.ini"], {})


def test_flask_migrate_layout_uses_the_folder_of_the_ini(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrations = tmp_path / "migrations"
    (migrations / "versions").mkdir(parents=True)
    (migrations / "env.py").write_text("")
    (migrations / "alembic.ini").write_text(
        "[alembic]\n# template used to generate migration files\n"
    )
    monkeypatch.chdir(tmp_path)

    config = load_config(ConfigOptions(config=("migrations/alembic.ini",)))

    assert config.script_location == migrations
    assert config.script_location_inferred


def test_no_configuration_names_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigNotFound, match="No Alembic configuration found"):
        load_config(ConfigOptions(), environ={})


def test_config_option_before_and_after_the_subcommand(tmp_path: Path) -> None:
    project = copy_project("blog", tmp_path / "deep" / "project", None)
    ini = str(project.ini)

    before = project.migdoctor("-c", ini, "check", "--offline", cwd=tmp_path)
    after = project.migdoctor("check", "--offline", "-c", ini, cwd=tmp_path)
    from_environment = project.migdoctor(
        "check", "--offline", cwd=tmp_path, env={"ALEMBIC_CONFIG": ini}
    )

    for result in (before, after, from_environment):
        assert result.exit_code == 0, result
        assert f"checking {ini}" in result.stdout


def test_pyproject_only_project(tmp_path: Path) -> None:
    project = copy_project("blog", tmp_path / "project", None)
    project.ini.unlink()
    (project.root / "pyproject.toml").write_text(
        '[project]\nname = "blog"\n\n[tool.alembic]\nscript_location = "%(here)s/alembic"\n'
    )

    result = project.migdoctor("check", "--offline", "--format", "json")

    assert result.exit_code == 0, result
    assert result.json()["project"]["config_file"] == str(project.root / "pyproject.toml")
    assert result.json()["project"]["heads"] == ["3c4d5e6f7081"]
