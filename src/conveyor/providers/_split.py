"""Split a SQL script into statements: at semicolons outside quotes and comments.

Comments are dropped (as Airflow's splitter does before splitting); quoted text ('...',
"...", `...`, PostgreSQL's $tag$...$tag$) is kept whole, with doubled quotes and backslash
escapes inside it.
"""

from __future__ import annotations

import re

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def _quoted_end(sql: str, start: int) -> int:
    """The index just past the quoted text that opens at ``start``."""
    quote = sql[start]
    i = start + 1
    while i < len(sql):
        if sql[i] == "\\" and quote == "'":
            i += 2
            continue
        if sql[i] == quote:
            if sql.startswith(quote * 2, i):
                i += 2
                continue
            return i + 1
        i += 1
    return len(sql)


def _skip(sql: str, i: int) -> tuple[int, bool]:
    """Where the quoted text or comment at ``i`` ends, and whether it was a comment."""
    char = sql[i]
    if char in "'\"`":
        return _quoted_end(sql, i), False
    if sql.startswith("--", i):
        end = sql.find("\n", i)
        return (len(sql) if end < 0 else end), True
    if sql.startswith("/*", i):
        end = sql.find("*/", i + 2)
        return (len(sql) if end < 0 else end + 2), True
    if char == "$":
        tag = _DOLLAR_TAG.match(sql, i)
        if tag:
            end = sql.find(tag[0], tag.end())
            return (len(sql) if end < 0 else end + len(tag[0])), False
    return i, False


def split_sql(sql: str, strip_semicolon: bool = False) -> list[str]:
    """The statements of ``sql``, stripped, without empty ones; each keeps its ``;`` unless
    ``strip_semicolon``."""
    statements: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(sql):
        end, comment = _skip(sql, i)
        if end > i:
            if not comment:
                current.append(sql[i:end])
            i = end
            continue
        if sql[i] == ";":
            if not strip_semicolon:
                current.append(";")
            statements.append("".join(current))
            current = []
        else:
            current.append(sql[i])
        i += 1
    statements.append("".join(current))
    return [s.strip() for s in statements if s.strip().rstrip(";").strip()]
