"""Logging held back while migdoctor runs what logs for another audience."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def logging_held_back(level: int) -> Iterator[None]:
    """Nothing is logged at ``level`` or below while it lasts (``logging.disable``, for every
    logger: env.py's fileConfig may have set any), then as before."""
    previous = logging.root.manager.disable
    logging.disable(level)
    try:
        yield
    finally:
        logging.disable(previous)
