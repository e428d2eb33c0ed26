"""Rewrite a revision file's header (``revision``, ``down_revision``, the docstring's
``Revision ID:`` and ``Revises:`` lines), leaving every other byte of the file as it was.

Pure functions over the file's bytes, for the fixes that repair the script side
(``renumber-revision``, ``reparent-revision``, ``rebase-heads``). Only a field assigned a literal
at module level is rewritten, in the quotes the file already uses: a computed one is refused
(ValueError), since no edit of its text is known to give the value wanted.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

from migdoctor.project.scripts import plain_assignments

_DOC_LINES = {
    "revision": re.compile(rb"^(Revision ID:[ \t]*)(\S+)([ \t]*)$", re.MULTILINE),
    "down_revision": re.compile(rb"^(Revises:[ \t]*)([^\r\n]*?)([ \t]*)$", re.MULTILINE),
}


def rewrite_header(
    source: bytes, revision: str | None = None, down_revisions: Sequence[str] | None = None
) -> bytes:
    """``source`` with a new ``revision`` and/or ``down_revision`` (None: left as it is; an
    empty sequence: ``None``, a root), in its assignment and its docstring line."""
    tree = ast.parse(source)
    edits: list[tuple[int, int, bytes]] = []
    quote = _quote_of(source, tree)
    if revision is not None:
        edits.append(_value_span(source, tree, "revision", _format((revision,), quote)))
    if down_revisions is not None:
        edits.append(_value_span(source, tree, "down_revision", _format(down_revisions, quote)))
    docstring = _docstring_span(source, tree)
    if docstring is not None:
        start, end = docstring
        text = source[start:end]
        if revision is not None:
            text = _replace_doc_line(text, "revision", revision.encode())
        if down_revisions is not None:
            text = _replace_doc_line(text, "down_revision", ", ".join(down_revisions).encode())
        edits.append((start, end, text))
    for start, end, replacement in sorted(edits, reverse=True):
        source = source[:start] + replacement + source[end:]
    return source


def _replace_doc_line(text: bytes, field: str, value: bytes) -> bytes:
    return _DOC_LINES[field].sub(lambda match: match[1] + value + match[3], text, count=1)


def _format(ids: Sequence[str], quote: str) -> bytes:
    if not ids:
        return b"None"
    quoted = [f"{quote}{identifier}{quote}" for identifier in ids]
    return (quoted[0] if len(quoted) == 1 else f"({', '.join(quoted)})").encode()


def _quote_of(source: bytes, tree: ast.Module) -> str:
    """The quote character the file's ``revision`` assignment uses (double by default)."""
    try:
        start, _, _ = _value_span(source, tree, "revision", b"")
    except ValueError:
        return '"'
    return "'" if source[start : start + 1] == b"'" else '"'


def _value_span(
    source: bytes, tree: ast.Module, name: str, replacement: bytes
) -> tuple[int, int, bytes]:
    """Where the last module-level literal assigned to ``name`` sits, in bytes."""
    value: ast.expr | None = None
    for statement in tree.body:
        for assigned, expression in plain_assignments(statement):
            if assigned == name:
                value = expression
    if value is None:
        raise ValueError(f"the file assigns no {name} at module level")
    try:
        ast.literal_eval(value)
    except ValueError:
        raise ValueError(f"its {name} is computed, not a literal: edit it by hand") from None
    return (*_byte_span(source, value), replacement)


def _docstring_span(source: bytes, tree: ast.Module) -> tuple[int, int] | None:
    if not tree.body:
        return None
    first = tree.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return _byte_span(source, first.value)
    return None


def _byte_span(source: bytes, node: ast.expr) -> tuple[int, int]:
    """``node``'s start and end as offsets into ``source`` (ast columns count UTF-8 bytes)."""
    line_starts = [0]
    for line in source.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    assert node.end_lineno is not None and node.end_col_offset is not None
    start = line_starts[node.lineno - 1] + node.col_offset
    end = line_starts[node.end_lineno - 1] + node.end_col_offset
    return start, end
