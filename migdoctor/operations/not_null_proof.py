"""Which columns a CHECK constraint proves NOT NULL, as PostgreSQL 12+ reads it before ``SET NOT
NULL``: when a valid CHECK constraint of the table implies ``column IS NOT NULL``, the server
skips the full scan that would prove it.

PostgreSQL proves it from a ``column IS NOT NULL`` term of the constraint's expression joined to
the rest by AND, and from nothing weaker: a CHECK accepts a row whose expression is NULL, so
``CHECK (c > 0)`` lets NULLs in, and an OR proves neither side. Only those terms are read here;
anything else proves nothing (the warning stays, which is the safe side).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_IS_NOT_NULL = re.compile(r'^\(*\s*("(?:[^"]|"")+"|[A-Za-z_][\w$]*)\s+IS\s+NOT\s+NULL\s*\)*$', re.I)
_CHECK = re.compile(r"^\s*CHECK\s*(.*?)(?:\s+NOT\s+VALID)?\s*$", re.I | re.S)


def columns_proven_not_null(condition: str) -> frozenset[str]:
    """The columns ``condition`` (a CHECK's expression, or ``pg_get_constraintdef``'s ``CHECK
    (...)``) proves NOT NULL: the ``column IS NOT NULL`` terms of its top-level AND. Quoted names
    keep their case; unquoted ones are folded to lower case, as PostgreSQL folds them."""
    found = _CHECK.match(condition)
    if found is not None and condition.lstrip()[:5].upper() == "CHECK":
        condition = found.group(1)
    proven = set()
    for term in _top_level_terms(_unwrapped(condition.strip())):
        matched = _IS_NOT_NULL.match(term.strip())
        if matched is None or not _balanced(term):
            continue
        name = matched.group(1)
        proven.add(name[1:-1].replace('""', '"') if name.startswith('"') else name.lower())
    return frozenset(proven)


def proves(condition: str, column: str) -> bool:
    """Whether ``condition`` proves ``column`` (a name as the table holds it) NOT NULL."""
    proven = columns_proven_not_null(condition)
    return column in proven or column.lower() in proven


def _unwrapped(text: str) -> str:
    """``text`` without the parentheses that enclose all of it."""
    while text.startswith("(") and text.endswith(")") and _closing(text, 0) == len(text) - 1:
        text = text[1:-1].strip()
    return text


def _closing(text: str, opening: int) -> int:
    """The index of the parenthesis closing the one at ``opening`` (-1 when none)."""
    for index, depth in _outside_quotes(text, opening):
        if text[index] == ")" and depth == 0:
            return index
    return -1


def _top_level_terms(text: str) -> list[str]:
    """``text`` split at its AND keywords outside parentheses and quotes; the whole of it when
    an OR stands at the top level (then no term alone holds)."""
    upper = text.upper()
    cuts = []
    for index, depth in _outside_quotes(text):
        if depth == 0 and text[index] not in "()" and _keyword_at(upper, index, "OR"):
            return [text]
        if depth == 0 and text[index] not in "()" and _keyword_at(upper, index, "AND"):
            cuts.append(index)
    bounds = zip([0, *(cut + 3 for cut in cuts)], [*cuts, len(text)], strict=True)
    return [_unwrapped(text[start:end].strip()) for start, end in bounds]


def _outside_quotes(text: str, start: int = 0) -> Iterator[tuple[int, int]]:
    """Each character of ``text`` from ``start`` that stands outside quotes, with the depth of
    parentheses after it (an opening one counted, a closing one taken off)."""
    depth = 0
    quoted: str | None = None
    for index in range(start, len(text)):
        character = text[index]
        if quoted:
            if character == quoted:
                quoted = None
            continue
        if character in "\"'":
            quoted = character
            continue
        if character == "(":
            depth += 1
        elif character == ")":
            depth -= 1
        yield index, depth


def _keyword_at(upper: str, index: int, keyword: str) -> bool:
    end = index + len(keyword)
    if upper[index:end] != keyword:
        return False
    before = upper[index - 1] if index else " "
    after = upper[end] if end < len(upper) else " "
    return not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_")


def _balanced(text: str) -> bool:
    return text.count("(") == text.count(")")
