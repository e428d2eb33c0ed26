"""The child process that runs env.py again after wire-target-metadata wrote it, and says which
tables ``target_metadata`` now holds (see :mod:`migdoctor.database.target_metadata`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from migdoctor.database.target_metadata import read_target_metadata
from migdoctor.errors import MigdoctorError, describe_exception


def main() -> None:
    """The child: read the request on stdin, write the answer to the file it names."""
    from migdoctor.gathering.gather import load_project
    from migdoctor.project.config import ConfigOptions

    request = json.loads(sys.stdin.read())
    options = ConfigOptions(
        config=tuple(request["config"]),
        name=request["name"],
        x_arguments=tuple(request["x_arguments"]),
        url=request["url"],
        lock_timeout=request["lock_timeout"],
    )
    result: dict[str, Any]
    try:
        metadata = read_target_metadata(load_project(options))
        result = {"tables": list(metadata.tables)}
    except MigdoctorError as error:
        result = {"error": error.message}
    except BaseException as error:  # noqa: BLE001 - whatever env.py raised: one line back
        result = {"error": describe_exception(error)}
    Path(request["answer"]).write_text(json.dumps(result))
