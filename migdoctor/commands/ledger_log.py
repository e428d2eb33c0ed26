"""``migdoctor log``: the ledger of the revisions migdoctor applied to this database."""

from __future__ import annotations

from migdoctor.database.ledger import read_ledger_of
from migdoctor.errors import EXIT_OK
from migdoctor.facts.ledger import LedgerFacts
from migdoctor.gathering.gather import load_project
from migdoctor.project.config import ConfigOptions


def read_log(options: ConfigOptions) -> LedgerFacts:
    return read_ledger_of(load_project(options))


def show_log(options: ConfigOptions, output_format: str, limit: int) -> int:
    from migdoctor.render.ledger import render_ledger

    render_ledger(read_log(options), output_format, limit)
    return EXIT_OK
