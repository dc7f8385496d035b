"""Failure isolation for the scheduler loop: one unit of work that raises stops only itself.

Each unit (a DAG's new runs, a DAG's queued runs, a run's advance, a run's dispatch, a try's
requeue or reaping, a run's timeout check) runs inside :meth:`Problems.guard`. An exception
is logged with the unit's DAG and run and its traceback, recorded in the store (where
``conveyor health`` and the web show it) and swallowed, so the loop goes on with the other
units; the record goes once the unit succeeds again. A lost store is not the unit's fault:
``STORE_UNREACHABLE`` goes through to the loop, which waits and tries the whole loop again.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from conveyor.clock import utcnow
from conveyor.store import problems
from conveyor.store.engine import STORE_UNREACHABLE, Store

log = logging.getLogger(__name__)


class Problems:
    """The problems of one scheduler: guards its units, records and clears their failures."""

    def __init__(self, store: Store, scheduler_id: str) -> None:
        self.store = store
        self.scheduler_id = scheduler_id
        # Units with a problem on record (by any scheduler): only their success costs a write.
        self._open: set[str] = set()

    def refresh(self) -> None:
        """Once a loop: learn what is on record, and forget what no loop will retry (a
        finished run's problem). A write only when there is something to forget."""
        with self.store.read() as conn:
            self._open = problems.problem_units(conn)
            settled = problems.settled_problem_units(conn) if self._open else []
        if settled:
            with self.store.write() as conn:
                problems.clear_problems(conn, settled)
            self._open.difference_update(settled)

    @contextmanager
    def guard(
        self,
        action: str,
        *,
        dag_id: str | None = None,
        run_pk: int | None = None,
        key: object = None,
    ) -> Iterator[None]:
        """Run the block as one unit of ``action``. ``key`` tells units of the same action
        apart (a try's id); by default the run, else the DAG, is the unit."""
        unit = _unit(action, dag_id, run_pk, key)
        try:
            yield
        except STORE_UNREACHABLE:
            raise
        except Exception as exc:
            # The traceback once; a unit that fails every loop would flood the log with it.
            log.log(
                logging.WARNING if unit in self._open else logging.ERROR,
                "scheduler: %s failed (DAG %s, run %s): %s; carrying on with the others",
                action,
                dag_id or "-",
                run_pk if run_pk is not None else "-",
                _one_line(exc),
                exc_info=unit not in self._open,
            )
            self._record(unit, action, dag_id, run_pk, exc)
        else:
            if unit in self._open:
                with self.store.write() as conn:
                    problems.clear_problems(conn, [unit])
                self._open.discard(unit)
                log.info("scheduler: %s works again (DAG %s)", action, dag_id or "-")

    def _record(
        self, unit: str, action: str, dag_id: str | None, run_pk: int | None, exc: Exception
    ) -> None:
        error = _one_line(exc)
        trace = "".join(traceback.format_exception(exc))
        try:
            with self.store.write() as conn:
                problems.record_problem(
                    conn,
                    unit=unit,
                    action=action,
                    dag_id=dag_id,
                    run_pk=run_pk,
                    error=error,
                    traceback=trace,
                    scheduler_id=self.scheduler_id,
                    now=utcnow(),
                )
        except STORE_UNREACHABLE:
            raise
        except Exception:
            log.exception("scheduler: could not record the failure of %s", unit)
            return
        self._open.add(unit)


def _one_line(exc: Exception) -> str:
    lines = f"{type(exc).__name__}: {exc}".strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _unit(action: str, dag_id: str | None, run_pk: int | None, key: object) -> str:
    if key is not None:
        return f"{action}:{key}"
    if run_pk is not None:
        return f"{action}:run {run_pk}"
    return f"{action}:{dag_id or '*'}"
