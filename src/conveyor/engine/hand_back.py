"""A stopping worker hands back the tries it still runs: each goes up for retry at once,
with one more try granted (``lifecycle.HAND_BACK``: a deploy or a scale-down never uses up a
task's retries).

Each try is handed back in a transaction of its own: its run locked first, then
:data:`HAND_BACK` (``engine.policy_table``). The run is not advanced: the retry is due at
once, and the scheduler's loop schedules it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from conveyor.engine.policy import follow
from conveyor.engine.policy_table import HAND_BACK
from conveyor.engine.try_move import TryMove
from conveyor.lifecycle import Actor
from conveyor.store import transitions, workers
from conveyor.store.engine import Store
from conveyor.store.hop import run_lock


def hand_back(
    store: Store,
    ti_ids: list[int],
    hostname: str,
    pids: Iterable[int],
    *,
    reason: str,
    actor: Actor,
) -> list[int]:
    """Hand back the running tries a stopping worker holds: those of ``ti_ids``, and those the
    processes ``pids`` of ``hostname`` started. The ids of the task instances handed back."""
    with store.read() as conn:
        running = transitions.tries_held(conn, ti_ids, hostname, list(pids))
    handed = []
    for ti_id, try_number in running:
        with store.write() as conn:
            run_pk = workers.run_of_task_instance(conn, ti_id)
            back = HandingBack(
                conn=conn,
                actor=actor,
                run_pk=run_pk,
                ti_id=ti_id,
                try_number=try_number,
                reason=reason,
            )
            back.run = run_lock.lock_run(conn, run_pk)
            follow(HAND_BACK, back)
        if back.moved:
            handed.append(ti_id)
    return handed


@dataclass(kw_only=True)
class HandingBack(TryMove):
    """One try being handed back: nothing is decided, its move grants the try back."""

    reason: str = ""

    def make_move(self) -> bool:
        return bool(
            transitions.hand_back(
                self.conn, self.locked, self.ti_id, self.try_number, self.reason, self.actor
            )
        )
