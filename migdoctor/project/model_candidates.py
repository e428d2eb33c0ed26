"""The models a project declares, as its modules' syntax trees tell (no module is imported).

Gathered only when env.py's ``target_metadata`` holds no tables (see
``project/models_scan.py``): they say which declarative base, ``MetaData``, Flask-SQLAlchemy
``db`` or ``SQLModel`` env.py should hand to autogenerate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DECLARATIVE = "declarative"  # Base = declarative_base(), class Base(DeclarativeBase)
METADATA = "metadata"  # metadata = MetaData()
FLASK_SQLALCHEMY = "flask-sqlalchemy"  # db = SQLAlchemy(app)
SQLMODEL = "sqlmodel"  # class Hero(SQLModel, table=True)


@dataclass(frozen=True)
class MetadataCandidate:
    """One ``MetaData`` env.py could pass: ``module:attribute`` and what declares tables on it.

    ``tables`` are the table names its models and ``Table(...)`` calls name (None where the
    name is not written literally); ``model_modules`` the modules declaring them, and
    ``unimported_modules`` those of them that importing ``module`` does not import (so env.py
    must). ``import_roots`` maps each module env.py would import to the folder it is imported
    from."""

    module: str
    attribute: str
    kind: str
    tables: tuple[str | None, ...]
    model_modules: tuple[str, ...]
    unimported_modules: tuple[str, ...]
    import_roots: tuple[tuple[str, Path], ...]
    path: Path | None = None  # the file of ``module`` (None for sqlmodel's own SQLModel)

    @property
    def reference(self) -> str:
        return f"{self.module}:{self.attribute}"

    @property
    def models(self) -> int:
        return len(self.tables)

    @property
    def metadata_expression(self) -> str:
        """The expression that gives the ``MetaData``, once ``attribute`` is imported."""
        return self.attribute if self.kind == METADATA else f"{self.attribute}.metadata"

    def matching(self, history_tables: frozenset[str]) -> frozenset[str]:
        """The tables the history creates that this candidate's models declare."""
        return frozenset(t for t in self.tables if t is not None and t in history_tables)


@dataclass(frozen=True)
class ProjectModels:
    """Every candidate found under ``root``; ``env_py_imports`` are the project modules env.py
    already imports (each with the folder it is imported from); ``capped`` says why the scan
    stopped early (None: every file was read)."""

    root: Path
    candidates: tuple[MetadataCandidate, ...]
    files_read: int
    env_py_imports: tuple[tuple[str, Path], ...] = ()
    capped: str | None = None

    def candidate(self, reference: str) -> MetadataCandidate | None:
        return next((c for c in self.candidates if c.reference == reference), None)

    @property
    def with_models(self) -> tuple[MetadataCandidate, ...]:
        return tuple(c for c in self.candidates if c.models)
