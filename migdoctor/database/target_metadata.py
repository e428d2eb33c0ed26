"""Read env.py's ``target_metadata`` in a fresh Python process, as ``alembic`` would see it.

``wire-target-metadata`` edits env.py and then proves the edit: env.py is run again, in a
child process of its own, so the answer owes nothing to what migdoctor's process imported
before (version files importing the models, ``sys.path`` entries a Flask loader added). The
child gets ``sys.path`` as alembic's process has it (no current folder in front), runs env.py
through ``run_environment`` and writes the tables its ``target_metadata`` holds to a file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext

    from migdoctor.facts.model import ProjectFacts, TargetMetadataFacts
    from migdoctor.project.config import ConfigOptions

TIMEOUT_SECONDS = 180.0
# the child drops the current folder python puts first, and finds migdoctor where this one is
_CHILD = (
    "import sys; del sys.path[0]; sys.path.append({package_parent!r}); "
    "from migdoctor.gathering.target_metadata_child import main; main()"
)


def read_target_metadata(project: ProjectFacts) -> TargetMetadataFacts:
    """Run env.py once (read-only) and describe what it passes as ``target_metadata``."""
    from migdoctor.database.capture import target_metadata_facts
    from migdoctor.database.environment import run_environment

    passed: list[Any] = []

    def work(context: MigrationContext, script: Any) -> list[Any]:
        passed.append(context.opts.get("target_metadata"))
        return []

    run_environment(project, work, read_only=True, action="Reading target_metadata")
    return target_metadata_facts(passed[0], None)


def tables_in_fresh_process(options: ConfigOptions) -> tuple[tuple[str, ...], str | None]:
    """The tables env.py's ``target_metadata`` holds when env.py runs in a new process, or
    why it could not be read."""
    package_parent = str(Path(__file__).resolve().parents[2])
    with tempfile.TemporaryDirectory(prefix="migdoctor-") as folder:
        answer = Path(folder) / "target_metadata.json"
        request = {
            "config": list(options.config),
            "name": options.name,
            "x_arguments": list(options.x_arguments),
            "url": options.url,
            "lock_timeout": options.lock_timeout,
            "answer": str(answer),
        }
        try:
            completed = subprocess.run(
                [sys.executable, "-c", _CHILD.format(package_parent=package_parent)],
                input=json.dumps(request),
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
            )
        except subprocess.TimeoutExpired:
            return (), f"env.py did not finish within {TIMEOUT_SECONDS:.0f} seconds"
        if not answer.exists():
            said = completed.stderr.strip().splitlines()
            last = said[-1] if said else f"exit code {completed.returncode}"
            return (), f"env.py ended the process ({last})"
        result = json.loads(answer.read_text())
    if result.get("error"):
        return (), str(result["error"])
    return tuple(result["tables"]), None
