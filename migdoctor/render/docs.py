"""``explain``, ``list-checks`` and ``list-fixes``: each check's and each fix's own documentation,
from its module."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from migdoctor.checks import DOC_SECTIONS, Check
from migdoctor.fixes import FIX_DOC_SECTIONS, FixDoc


def render_explanation(check: Check, console: Console) -> None:
    console.print(
        f"[bold]{check.slug}[/] ({check.code}, {check.severity.value}): {escape(check.summary)}"
    )
    scope = "needs the database" if check.needs_database else "works offline (scripts only)"
    console.print(f"[dim]{scope}[/]")
    for name in DOC_SECTIONS:
        console.print()
        console.print(f"[bold]{name}[/]")
        console.print(escape(check.section(name)))


def render_check_list(checks: Sequence[Check], console: Console) -> None:
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("check", style="bold")
    table.add_column("code")
    table.add_column("severity")
    table.add_column("needs")
    table.add_column("what it detects")
    for check in checks:
        table.add_row(
            check.slug,
            check.code,
            check.severity.value,
            "database" if check.needs_database else "scripts",
            escape(check.summary),
        )
    console.print(table)
    console.print(
        "\n[dim]migdoctor explain SLUG tells more about one check; migdoctor list-fixes lists "
        "the fixes.[/]"
    )


def render_fix_explanation(fix: FixDoc, console: Console) -> None:
    console.print(f"[bold]{fix.id}[/] (fix, risk: {fix.risk.value}): {escape(fix.summary)}")
    scope = "needs the database" if fix.needs_database else "works without the database"
    console.print(f"[dim]{scope}; apply with: migdoctor fix {fix.id}[/]")
    for name in FIX_DOC_SECTIONS:
        console.print()
        console.print(f"[bold]{name}[/]")
        console.print(escape(fix.section(name)))


def render_fix_list(fixes: Sequence[FixDoc], console: Console) -> None:
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("fix", style="bold")
    table.add_column("risk")
    table.add_column("needs")
    table.add_column("what it does")
    for fix in fixes:
        table.add_row(
            fix.id,
            fix.risk.value,
            "database" if fix.needs_database else "scripts",
            escape(fix.summary),
        )
    console.print(table)
    console.print(
        "\n[dim]migdoctor explain FIX-ID tells what a fix does, its risk and its undo.[/]"
    )
