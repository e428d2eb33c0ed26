"""migdoctor: a doctor for Alembic migration projects."""

from __future__ import annotations

__version__ = "0.1.0"
