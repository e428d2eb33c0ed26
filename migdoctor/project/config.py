"""Find and read the Alembic configuration exactly where and how alembic does.

alembic's command line looks at ``-c/--config`` (given once for an ini file, and once more for a
``pyproject.toml``), then ``ALEMBIC_CONFIG``, then ``./alembic.ini`` and ``./pyproject.toml``;
it reads the ``[alembic]`` section (``-n/--name`` picks another) and ``[tool.alembic]``, the ini
winning. This module mirrors ``alembic.config.CommandLine._inis_from_config`` and the option
look-ups of ``alembic.config.Config`` without importing alembic, so that ``--offline`` checks and
``--help`` stay fast; ``tests/test_config.py`` proves it agrees with alembic's own ``Config``.
How each option is read from the files is in :mod:`migdoctor.project.config_files`.
"""

from __future__ import annotations

import configparser
import contextlib
import functools
import io
import os
import re
import sys
from argparse import Namespace
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TextIO

from migdoctor.errors import ConfigNotFound, MigdoctorError
from migdoctor.project.config_files import (
    interpolated,
    read_ini,
    read_prepend_sys_path,
    read_toml_section,
    read_version_locations,
    resolve_location,
    resolve_script_location,
    toml_value,
)
from migdoctor.project.settings import LedgerSettings, MigdoctorSettings, read_settings
from migdoctor.redact import remember_url_password

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

DEFAULT_INI = "alembic.ini"
FLASK_MIGRATE_INI = "migrations/alembic.ini"
DEFAULT_TOML = "pyproject.toml"


@dataclass(frozen=True)
class ConfigOptions:
    """The options a user gives to choose and adjust the configuration (as alembic takes them)."""

    config: tuple[str, ...] = ()
    name: str = "alembic"
    x_arguments: tuple[str, ...] = ()
    url: str | None = None
    # --lock-timeout when given: also how long each read of the database may wait
    lock_timeout: float | None = None
    # --no-ledger: record nothing in migdoctor's ledger table this run
    no_ledger: bool = False
    # upgrade/downgrade --statement-timeout: how long each statement of the migration may run
    statement_timeout: float | None = None
    # upgrade/downgrade --retries: how often a revision that gave up on a lock is tried again
    # (None: not given; the guarded run takes retries from the settings, else 0)
    retries: int | None = None


@dataclass(frozen=True)
class ProjectConfig:
    """The Alembic configuration of one project, as alembic would read it."""

    ini_name: str
    toml_name: str
    ini_section: str
    ini_file: Path | None
    toml_file: Path | None
    script_location: Path
    script_location_setting: str
    version_locations: tuple[Path, ...]
    recursive_version_locations: bool
    sourceless: bool
    prepend_sys_path: tuple[str, ...]
    sqlalchemy_url: str | None
    options: ConfigOptions
    script_location_inferred: bool = False
    main_options: Mapping[str, str] = field(default_factory=dict)
    # ``alembic history`` runs env.py when this is set; any value alembic might not read as
    # false counts as set
    revision_environment: bool = False
    # migdoctor's own settings: [tool.migdoctor] of the pyproject.toml beside it and the ini's
    # [migdoctor] section (see project/settings.py)
    settings: MigdoctorSettings = field(default_factory=MigdoctorSettings)

    @property
    def ledger(self) -> LedgerSettings:
        """migdoctor's ledger of applied revisions: kept or not (--no-ledger), in which table."""
        return self.settings.ledger

    @property
    def config_file(self) -> Path | None:
        """The file that names the script location: the ini when it has one, else pyproject."""
        return self.ini_file if self.ini_file is not None else self.toml_file

    @property
    def base_directory(self) -> Path:
        """Where the project lives: the folder of its config file (journal and cache go here)."""
        found = self.config_file
        return found.parent if found is not None else Path.cwd()

    def apply_sys_path(self) -> None:
        """Put ``prepend_sys_path`` in front of ``sys.path``, as alembic does before loading."""
        for entry in reversed(self.prepend_sys_path):
            if entry not in sys.path[: len(self.prepend_sys_path)]:
                sys.path.insert(0, entry)

    def alembic_config(
        self, stdout: TextIO | None = None, *, command: str = "current", **cmd_opts: Any
    ) -> AlembicConfig:
        """alembic's own ``Config`` for this project, as the ``alembic`` command builds it for
        ``alembic COMMAND``: its ``cmd_opts`` holds every option of that command (``cmd``,
        ``autogenerate``, ``sql``…) with alembic's defaults, ``cmd_opts`` given overriding them,
        because env.py files read them (Netflix/dispatch's reads ``cmd_opts.cmd``)."""
        from alembic.config import Config

        namespace = Namespace(
            **{
                **alembic_command_options(command),
                "config": list(self.options.config) or None,
                "name": self.ini_section,
                "x": list(self.options.x_arguments) or None,
                "raiseerr": False,
                "quiet": False,
                **cmd_opts,
            }
        )
        config = Config(
            file_=self.ini_name,
            toml_file=self.toml_name,
            ini_section=self.ini_section,
            cmd_opts=namespace,
            stdout=stdout if stdout is not None else sys.stdout,
        )
        if self.script_location_inferred:
            config.set_main_option("script_location", str(self.script_location))
        if self.options.url:
            # ConfigParser interpolates '%': a URL-encoded password must survive that
            config.set_main_option("sqlalchemy.url", self.options.url.replace("%", "%%"))
        return config


@functools.cache
def alembic_command_options(command: str) -> Mapping[str, Any]:
    """The options ``alembic COMMAND`` parses with nothing typed: ``cmd`` (alembic's
    ``(function, positional, keyword)`` triple) and each option's default; positional arguments
    are ``None`` until given."""
    from alembic.config import CommandLine

    parser = CommandLine(prog="alembic").parser
    placeholder = "head"
    for positional_count in range(4):
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                parsed = parser.parse_args([command, *[placeholder] * positional_count])
        except SystemExit:
            continue
        _, positional, _ = parsed.cmd
        return MappingProxyType({**vars(parsed), **{name: None for name in positional}})
    return MappingProxyType({})


def config_file_names(
    given: Sequence[str], environ: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """The (pyproject.toml, ini) pair alembic would open; mirrors ``_inis_from_config``."""
    environ = os.environ if environ is None else environ
    from_env = environ.get("ALEMBIC_CONFIG")
    if from_env and os.path.basename(from_env) == DEFAULT_TOML:
        default_toml, default_ini = from_env, DEFAULT_INI
    elif from_env:
        default_toml, default_ini = DEFAULT_TOML, from_env
    else:
        default_toml, default_ini = DEFAULT_TOML, DEFAULT_INI

    toml: str | None = None
    ini: str | None = None
    for name in given:
        if os.path.basename(name) == DEFAULT_TOML:
            if toml is not None:
                raise MigdoctorError("pyproject.toml was given more than once with -c/--config.")
            toml = name
        else:
            if ini is not None:
                raise MigdoctorError(
                    f"Only one ini file may be given with -c/--config (got {ini!r} and {name!r})."
                )
            ini = name
    return toml or default_toml, ini or default_ini


def load_config(options: ConfigOptions, environ: Mapping[str, str] | None = None) -> ProjectConfig:
    """Find and read the project's configuration, or explain in one line why there is none."""
    toml_name, ini_name = config_file_names(options.config, environ)
    for given in options.config:
        if not Path(given).is_file():
            what = "is a folder, not a file" if Path(given).is_dir() else "not found"
            raise ConfigNotFound(
                f"Config file {given!r} {what} (given with -c/--config).",
                hint=_candidates_hint(),
            )

    ini_path = Path(ini_name)
    parser = read_ini(ini_path)
    toml_path = Path(toml_name)
    toml_section = read_toml_section(toml_path)

    ini_has_section = parser.has_section(options.name)
    ini_file = ini_path.absolute() if ini_path.is_file() else None
    toml_file = toml_path.absolute() if toml_section is not None else None
    toml_args = {"here": toml_path.absolute().parent.as_posix()}

    def option(name: str) -> Any:
        if ini_has_section and parser.has_option(options.name, name):
            return interpolated(parser, options.name, name, ini_path)
        if toml_section is not None and name in toml_section:
            return toml_value(toml_section[name], toml_args, name, toml_path)
        return None

    script_location_setting = option("script_location")
    inferred = False
    if script_location_setting is None or _flask_migrate_env(ini_file):
        # Flask-Migrate sets script_location in code, to the folder of its alembic.ini,
        # whatever the file says (ihatemoney's says "script_location = .", right only for
        # `flask db` or from inside that folder)
        script_location_setting = _flask_migrate_location(ini_file) or script_location_setting
        inferred = script_location_setting is not None and script_location_setting != option(
            "script_location"
        )
    if script_location_setting is None:
        flask_migrate_ini = (
            _flask_migrate_folder()
            if not options.config
            and ini_file is None
            and toml_section is None
            and not (environ or os.environ).get("ALEMBIC_CONFIG")
            else None
        )
        if flask_migrate_ini is not None:
            # `flask db` keeps it there; its users never run alembic from the project root
            return load_config(replace(options, config=(flask_migrate_ini,)), environ)
        from_env = (os.environ if environ is None else environ).get("ALEMBIC_CONFIG")
        if from_env and not options.config and not Path(from_env).is_file():
            # the user named the file: another project found nearby is not the one they meant
            raise ConfigNotFound(
                f"Config file {from_env!r} not found (named by $ALEMBIC_CONFIG).",
                hint="Point ALEMBIC_CONFIG at the project's alembic.ini or pyproject.toml, "
                "unset it, or pass -c PATH.",
            )
        raise _no_configuration(ini_name, toml_name, ini_file, ini_has_section, options)
    if not isinstance(script_location_setting, str):
        raise MigdoctorError("script_location must be a string in the Alembic configuration.")

    prepend_sys_path = read_prepend_sys_path(parser, options.name, option)
    script_location = resolve_script_location(script_location_setting, prepend_sys_path)
    version_settings = read_version_locations(parser, options.name, option)
    version_locations = tuple(
        resolve_location(location, prepend_sys_path) for location in version_settings or ()
    ) or (script_location / "versions",)

    main_options: dict[str, str] = {}
    if ini_has_section:
        for key in parser.options(options.name):
            try:
                main_options[key] = parser.get(options.name, key)
            except configparser.Error:
                continue
    url = options.url or main_options.get("sqlalchemy.url")
    remember_url_password(options.url)
    remember_url_password(url)

    return ProjectConfig(
        ini_name=ini_name,
        toml_name=toml_name,
        ini_section=options.name,
        ini_file=ini_file,
        toml_file=toml_file,
        script_location=script_location.absolute(),
        script_location_setting=script_location_setting,
        version_locations=tuple(location.absolute() for location in version_locations),
        recursive_version_locations=_boolean(option("recursive_version_locations")),
        sourceless=_boolean(option("sourceless")),
        prepend_sys_path=tuple(prepend_sys_path),
        sqlalchemy_url=url if isinstance(url, str) else None,
        options=options,
        script_location_inferred=inferred,
        main_options=main_options,
        revision_environment=_maybe_true(option("revision_environment")),
        settings=read_settings(toml_path, parser, ini_path, options.no_ledger),
    )


def _boolean(value: Any) -> bool:
    return value is True or value == "true"


def _maybe_true(value: Any) -> bool:
    """False only for what SQLAlchemy's ``asbool`` (used by alembic) surely reads as false."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "no", "off", "n", "f", "0")
    return True


# what every env.py of Flask-Migrate's templates reads: the Migrate extension of current_app
_FLASK_MIGRATE_ENV = re.compile(rb"""current_app\.extensions\[\s*['"]migrate['"]\s*\]""")


def _flask_migrate_env(ini_file: Path | None) -> bool:
    """Whether ``ini_file`` sits beside a Flask-Migrate env.py (which ``flask db`` runs with
    script_location set to that folder)."""
    if ini_file is None:
        return False
    try:
        return bool(_FLASK_MIGRATE_ENV.search((ini_file.parent / "env.py").read_bytes()))
    except OSError:
        return False


def _flask_migrate_folder() -> str | None:
    """The alembic.ini of the project's Flask-Migrate folder, beside its env.py: ``migrations/``
    (``flask db init``'s), or else the one folder one or two levels down that holds one, as
    ``Migrate(app, db, directory=...)`` puts it elsewhere; None when there is none, or several
    (then the user says which, with -c)."""
    if Path(FLASK_MIGRATE_INI).is_file() and (Path(FLASK_MIGRATE_INI).parent / "env.py").is_file():
        return FLASK_MIGRATE_INI
    found = [
        path
        for pattern in ("*/alembic.ini", "*/*/alembic.ini")
        for path in sorted(Path().glob(pattern))
        if not _outside_the_project(path) and _flask_migrate_env(path)
    ]
    return str(found[0]) if len(found) == 1 else None


def _outside_the_project(path: Path) -> bool:
    """A path (relative to the project) in a virtual environment or an installed package."""
    return any(part in (".venv", "venv", "site-packages", "node_modules") for part in path.parts)


def _flask_migrate_location(ini_file: Path | None) -> str | None:
    """Flask-Migrate keeps alembic.ini inside the migrations folder and sets script_location in
    code; that folder (holding env.py) is then the script location."""
    if ini_file is not None and (ini_file.parent / "env.py").is_file():
        return str(ini_file.parent)
    return None


def _no_configuration(
    ini_name: str,
    toml_name: str,
    ini_file: Path | None,
    ini_has_section: bool,
    options: ConfigOptions,
) -> ConfigNotFound:
    if ini_file is not None and not ini_has_section:
        return ConfigNotFound(
            f"{ini_name} has no [{options.name}] section.",
            hint="Pass -n NAME for another section, or -c PATH for another file.",
        )
    if ini_file is not None:
        return ConfigNotFound(
            f"{ini_name} has no script_location in [{options.name}], and there is none in "
            f"[tool.alembic] of {toml_name}.",
        )
    return ConfigNotFound(
        f"No Alembic configuration found: no {ini_name} and no [tool.alembic] in {toml_name} "
        f"(looked in {Path.cwd()}).",
        hint=_candidates_hint(),
    )


def _candidates_hint() -> str:
    candidates = sorted(
        str(path)
        for pattern in ("*/alembic.ini", "*/*/alembic.ini")
        for path in Path().glob(pattern)
        if not _outside_the_project(path)
    )[:3]
    if candidates:
        return "Found " + ", ".join(candidates) + f": try  migdoctor -c {candidates[0]} check"
    if _uses_flask_alembic(Path.cwd()):
        return (
            "This project uses Flask-Alembic, which configures alembic in code, with no "
            "alembic.ini and no env.py: migdoctor reads a project the way the alembic command "
            "does. Give it an alembic.ini whose script_location is a folder with an env.py "
            "(alembic init makes both; point target_metadata at your db.metadata and "
            "version_locations at your migration folders), then run migdoctor -c that file."
        )
    return "Run migdoctor where alembic.ini is, or pass -c PATH (ALEMBIC_CONFIG works too)."


_FLASK_ALEMBIC = re.compile(rb"flask[-_]alembic", re.IGNORECASE)


def _uses_flask_alembic(folder: Path) -> bool:
    """Whether the project's requirements name Flask-Alembic (flaskbb, among others)."""
    for name in ("pyproject.toml", "requirements.txt", "setup.cfg", "setup.py", "Pipfile"):
        try:
            if _FLASK_ALEMBIC.search((folder / name).read_bytes()):
                return True
        except OSError:
            continue
    return False
