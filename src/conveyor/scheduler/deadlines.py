"""Deadline alerts, checked by the scheduler loop: each pending deadline whose time has come
is decided once, met (the run succeeded by then) or missed (its callback requested, which
the scheduler's callback process runs; see ``store/deadlines.py``).

A loop with nothing due costs one probe of a partial index; two schedulers deciding the
same deadline move it once (a guarded update), so its callback is asked for once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from conveyor.stats import airflow as stats
from conveyor.store import deadlines
from conveyor.store.engine import Store

log = logging.getLogger(__name__)


def check(store: Store, now: datetime) -> list[deadlines.Decision]:
    """Decide the deadlines due at ``now``, each in a transaction of its own."""
    with store.read() as conn:
        due = deadlines.due(conn, now)
    decided = []
    for deadline_id in due:
        with store.write() as conn:
            decision = deadlines.decide(conn, deadline_id, now)
        if decision is None:
            continue  # another scheduler decided it
        decided.append(decision)
        missed = decision.state == deadlines.MISSED
        stats.deadlines_decided(decision.dag_id, decision.run_id, missed)
        if decision.state == deadlines.MISSED:
            log.warning(
                "deadline missed: DAG %s run %s (alert %d, due %s); its callback is requested",
                decision.dag_id,
                decision.run_id,
                decision.alert_index,
                decision.deadline_at.isoformat(),
            )
    return decided
