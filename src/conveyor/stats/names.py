"""Which metric names are sent: Airflow's name rule, and its allow and block lists."""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

#: Airflow's rule for a metric name: at most 250 characters of these (others are dropped).
_VALID = re.compile(r"[A-Za-z0-9_.\-/]{1,250}")
#: Names remembered per process; past this, the memory starts again (DAG ids are many).
_REMEMBERED = 10_000


def _patterns(text: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(item.strip().lower()) for item in text.split(",") if item.strip())


class NameFilter:
    """``metrics_allow_list`` and ``metrics_block_list`` as Airflow 3 reads them: comma
    separated regular expressions, each searched anywhere in the lower-cased name (so a
    plain word matches a name that starts with it, Airflow 2's prefix rule, and one that
    has it further in); an allow list makes the block list ignored. A name outside Airflow's
    rule is dropped and logged once."""

    def __init__(self, allow_list: str = "", block_list: str = "") -> None:
        self.allow = _patterns(allow_list)
        self.block = () if self.allow else _patterns(block_list)
        self._seen: dict[str, bool] = {}

    def allows(self, name: str) -> bool:
        found = self._seen.get(name)
        if found is None:
            if len(self._seen) >= _REMEMBERED:
                self._seen.clear()
            found = self._seen[name] = self._decide(name)
        return found

    def _decide(self, name: str) -> bool:
        if not _VALID.fullmatch(name):
            log.warning("metric %r not sent: a name is 1 to 250 of A-Z a-z 0-9 _ . - /", name)
            return False
        lowered = name.lower()
        if self.allow:
            return any(p.search(lowered) for p in self.allow)
        return not any(p.search(lowered) for p in self.block)
