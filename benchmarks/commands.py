"""Running the commands a benchmark times: the installed console scripts, once each."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def console_script(name: str) -> list[str]:
    """The installed console script beside this Python, as a user runs it."""
    script = Path(sys.executable).parent / name
    return [str(script)] if script.exists() else [sys.executable, "-m", name]


def timing_environment() -> dict[str, str]:
    """The environment both sides run in: as a user's shell has it, with the hash seed fixed,
    migdoctor's caches on, and Python writing bytecode as it does by default (these machines
    set PYTHONDONTWRITEBYTECODE, which would make both sides compile the project's own modules,
    a thousand tables of models, say, on every run). The cold rows turn both off again."""
    environment = dict(os.environ, PYTHONHASHSEED="0")
    for name in ("MIGDOCTOR_NO_CACHE", "PYTHONDONTWRITEBYTECODE"):
        environment.pop(name, None)
    return environment


def run_once(
    command: Sequence[str], cwd: Path, environment: dict[str, str], exit_codes: Sequence[int] = (0,)
) -> float:
    started = time.perf_counter()
    completed = subprocess.run(
        command, cwd=cwd, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    elapsed = time.perf_counter() - started
    # migdoctor check exits 1 when it finds problems; a generated project has none, unless
    # the comparison breaks it on purpose
    if completed.returncode not in exit_codes:
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stderr.decode()}")
    return elapsed


def compile_migdoctor() -> None:
    """Write migdoctor's bytecode, as installing a wheel does: with PYTHONDONTWRITEBYTECODE set
    (as on these machines) an editable checkout would otherwise compile itself on every run,
    which no installed alembic does."""
    import compileall

    import migdoctor

    compileall.compile_dir(Path(migdoctor.__file__).parent, quiet=1)
