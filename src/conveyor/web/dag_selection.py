"""Which DAGs an action on many names: by id, by regular expression or SQL LIKE pattern on the
id, by tag. The CLI's ``dags pause``/``unpause`` and the API's ``PATCH /dags`` choose with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from conveyor.exceptions import ConveyorError
from conveyor.store.reads.dags import DagRow


class SelectionError(ConveyorError):
    """The selection cannot be made: an unknown id, a regular expression that does not
    compile."""


@dataclass(frozen=True)
class DagSelection:
    """Every criterion given must hold (an empty one is not given); within ``tags``, any of
    them. ``ids`` are exact; ``patterns`` are searched in the id (Python regular expressions,
    as Airflow's ``--treat-dag-id-as-regex``)."""

    ids: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()
    tags: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (self.ids or self.patterns or self.tags)

    def matches(self, row: DagRow) -> bool:
        if self.ids and row.dag_id not in self.ids:
            return False
        if self.patterns and not any(p.search(row.dag_id) for p in self.patterns):
            return False
        return not self.tags or any(tag in row.tags for tag in self.tags)


def regexes(texts: Iterable[str], option: str) -> tuple[re.Pattern[str], ...]:
    """Each text compiled, or a SelectionError naming the option and the text."""
    found = []
    for text in texts:
        try:
            found.append(re.compile(text))
        except re.error as exc:
            raise SelectionError(f"{option} {text!r} is not a regular expression: {exc}") from None
    return tuple(found)


def like(pattern: str) -> re.Pattern[str]:
    """Airflow's ``dag_id_pattern`` (SQL LIKE, case-insensitive as Airflow's ILIKE: ``%`` any
    text, ``_`` one character, ``\\`` escapes the next) as a regular expression matching
    the whole id; no backtracking beyond the length of a DAG id."""
    parts: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile(r"\A" + "".join(parts) + r"\Z", re.DOTALL | re.IGNORECASE)


def select(rows: Sequence[DagRow], selection: DagSelection) -> list[DagRow]:
    """The rows the selection names, in id order; an exact id no row has is an error."""
    known = {row.dag_id for row in rows}
    missing = [dag_id for dag_id in selection.ids if dag_id not in known]
    if missing:
        raise SelectionError(f"no DAG {', '.join(map(repr, missing))}: see `conveyor dags list`")
    return sorted((r for r in rows if selection.matches(r)), key=lambda r: r.dag_id)
