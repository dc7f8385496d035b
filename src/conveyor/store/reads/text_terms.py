"""The terms of Airflow's text filters (``*_pattern``, ``*_prefix_pattern``), as Airflow's
REST API reads them: the same for a filter applied in SQL (the audit log's) and for one
applied to rows read whole (``web/airflow_api/text_match.py``).

``|`` separates terms, any of which may match. ``~`` alone matches every value that is set.
A prefix term loses its trailing punctuation first (``test_`` finds ``test...``), and a
term left empty matches every value that is set.
"""

from __future__ import annotations

#: A filter that matches every value that is set.
EVERY = "~"


def terms(pattern: str) -> list[str]:
    """The ``|``-separated terms of ``pattern``, stripped (the pattern itself when it has
    no other)."""
    found = [t.strip() for t in pattern.split("|") if t.strip()] if "|" in pattern else []
    return found or [pattern]


def prefix_terms(pattern: str) -> list[str]:
    """The prefixes a ``*_prefix_pattern`` asks for, each cut of its trailing punctuation;
    an empty one (``~``, or a term of punctuation only) matches every value that is set."""
    return [_without_trailing_punctuation(t) for t in terms("" if pattern == EVERY else pattern)]


def _without_trailing_punctuation(term: str) -> str:
    while term and not term[-1].isalnum():
        term = term[:-1]
    return term
