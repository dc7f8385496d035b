"""What ``run(..., handler=...)`` does with a statement's cursor, and when ``run`` returns one
statement's result rather than a list of them: the rules of Airflow's common.sql handlers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def fetch_all_handler(cursor: Any) -> Any:
    """Every row of a statement that returns rows (the driver's ``fetchall``), else None."""
    if cursor.description is None:
        return None
    return cursor.fetchall()


def fetch_one_handler(cursor: Any) -> Any:
    """The first row of a statement that returns rows, else None."""
    if cursor.description is None:
        return None
    return cursor.fetchone()


def return_single_query_results(
    sql: str | Iterable[str], return_last: bool, split_statements: bool | None
) -> bool:
    """Whether ``run`` gives one statement's result rather than a list of results.

    One result: ``sql`` is a string and either only the last result is asked for, or the
    string is not split. A list: ``sql`` is a list of statements, or a split string whose
    every result is asked for.
    """
    if not isinstance(sql, str):
        return False
    if split_statements is None:
        return return_last
    return return_last or not split_statements
