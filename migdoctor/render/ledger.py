"""``migdoctor log``: the ledger as a table for people, or JSON."""

from __future__ import annotations

import json

from rich.markup import escape
from rich.table import Table

from migdoctor.facts.ledger import LedgerFacts


def ledger_document(ledger: LedgerFacts, limit: int) -> dict[str, object]:
    return {
        "schema_version": 1,
        "ledger_table": ledger.table,
        "exists": ledger.exists,
        "unreadable": ledger.unreadable,
        "entries": [
            {**entry.as_record(), "edited_since": entry.revision in ledger.edited}
            for entry in ledger.entries[:limit]
        ],
        "truncated": ledger.truncated or len(ledger.entries) > limit,
    }


def render_ledger(ledger: LedgerFacts, output_format: str, limit: int) -> None:
    from migdoctor.render import stdout_console

    if output_format == "json":
        print(json.dumps(ledger_document(ledger, limit), indent=2))
        return
    console = stdout_console()
    if not ledger.exists:
        console.print(
            f"No ledger here: the table {escape(ledger.table)} does not exist (migdoctor upgrade, "
            "downgrade, stamp and fix create it when they apply a revision)."
        )
        return
    if ledger.unreadable:
        console.print(
            f"The ledger {escape(ledger.table)} cannot be read: {escape(ledger.unreadable)}"
        )
        return
    if not ledger.entries:
        console.print(f"The ledger {escape(ledger.table)} is empty.")
        return
    table = Table(title=f"{ledger.table}, newest first", title_justify="left")
    for name in ("applied (UTC)", "revision", "direction", "file sha256", "user", "seconds", "by"):
        table.add_column(name, no_wrap=name in ("applied (UTC)", "revision"))
    for entry in ledger.entries[:limit]:
        sha = (entry.file_sha256 or "-")[:12]
        if entry.revision in ledger.edited and entry is ledger.last_entry(entry.revision):
            sha += " (edited since)"
        table.add_row(
            entry.applied_at.replace("T", " ").rstrip("Z"),
            entry.revision,
            entry.direction,
            sha,
            entry.database_user or "-",
            f"{entry.duration_seconds:.3f}" if entry.duration_seconds is not None else "-",
            escape(f"migdoctor {entry.command}"),
        )
    console.print(table)
    shown = min(limit, len(ledger.entries))
    if ledger.truncated or len(ledger.entries) > limit:
        console.print(f"The newest {shown} entries; --limit shows more.")
