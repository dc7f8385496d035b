"""What ``conveyor run`` tells its user while the run goes on.

A failed try is reported the moment it fails (its error, the last lines of its log, and when
the next try starts), not after every retry is spent. Without a terminal there is no live
table to look at, so every change of a task's state becomes one line instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from conveyor.callbacks import DAG_HOOKS
from conveyor.cli.common import instance_name, styled
from conveyor.executors.local import log_tail
from conveyor.states import ExitKind, TaskState
from conveyor.store import callback_requests, retries, timeline
from conveyor.store.engine import Store
from conveyor.store.reads import tasks as task_reads

#: Lines of a failed try's log shown with its error.
LOG_LINES = 10


@dataclass
class RunWatcher:
    """Looks at one run after every scheduler loop and prints what changed."""

    store: Store
    run_pk: int
    console: Console
    progress_lines: bool  # one line per state change (no terminal, no live table)
    no_retry_delay: bool = False
    _reported: set[int] = field(default_factory=set)  # task_try ids already printed
    _callback_errors: set[int] = field(default_factory=set)  # task_event ids already printed
    _dag_callback_errors: set[int] = field(default_factory=set)  # callback_request ids
    _states: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)

    def look(self) -> None:
        # A retry can start between two looks; its try's failure is told before its lines.
        changes = self._changes() if self.progress_lines else []
        self._print(line for line, next_try in changes if not next_try)
        self._print_failed_tries()
        self._print_callback_errors()
        self._print(line for line, next_try in changes if next_try)
        if self.no_retry_delay:
            self._retry_now()

    def _print(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.console.print(line)

    def _changes(self) -> list[tuple[str, bool]]:
        """A line per task whose state changed since the last look, and whether it is about
        a later try than the one last seen."""
        with self.store.read() as conn:
            rows = task_reads.instances(conn, self.run_pk)
        changes = []
        for r in rows:
            key = (r.task_id, r.map_index)
            seen = self._states.get(key)
            if seen == (r.state, r.try_number):
                continue
            self._states[key] = (r.state, r.try_number)
            name = instance_name(r.task_id, r.map_index)
            if r.rendered_map_index:  # the instance's name from its map_index_template
                name += f" {r.rendered_map_index}"
            line = (
                f"{_utcnow():%H:%M:%S} {escape(name)} {styled(r.state)} "
                f"(try {r.try_number}/{r.max_tries})"
            )
            changes.append((line, seen is not None and r.try_number > seen[1]))
        return changes

    def _print_failed_tries(self) -> None:
        with self.store.read() as conn:
            rows = task_reads.failed_tries(conn, self.run_pk)
        for row in _unseen(rows, self._reported, lambda r: r.try_id):
            name = instance_name(row.task_id, row.map_index)
            self.console.print(
                f"\n[bold red]{escape(name)} failed[/] on try {row.try_number} of "
                f"{row.max_tries} ({row.exit_kind}):"
            )
            # Text, not print options: under the live table, options such as markup=False
            # or style= would apply to the table rendered with this print too.
            self.console.print(Text((row.error or "").rstrip()))
            tail = _tail_before_traceback(row.log_path, row.exit_kind)
            if tail:
                self.console.print(Text("last lines of its log:", style="dim"))
                self.console.print(Text(tail))
            self.console.print(Text(f"log: {row.log_path}", style="dim"))
            waiting = row.ti_state == TaskState.UP_FOR_RETRY.value and row.ti_try == row.try_number
            if waiting and row.retry_at is not None:
                self.console.print(Text(self._next_try(row.retry_at)))
            self.console.print()

    def _print_callback_errors(self) -> None:
        """A task callback that raised (its try's timeline says so), as it is recorded."""
        with self.store.read() as conn:
            found = timeline.run_events(conn, self.run_pk, timeline.CALLBACK_FAILED)
        for event in _unseen(found, self._callback_errors, lambda e: e.id):
            name = instance_name(event.task_id, event.map_index)
            self.console.print(
                Text(f"{name} try {event.try_number}: {event.message}", style="bold red")
            )
        with self.store.read() as conn:
            failed = callback_requests.failed_of_run(conn, self.run_pk)
        for request in _unseen(failed, self._dag_callback_errors, lambda r: r.id):
            for line in request.error.splitlines():
                hook = DAG_HOOKS.get(request.kind, f"{request.kind} alert")  # a deadline's
                self.console.print(Text(f"DAG {hook} {line}", style="bold red"))

    def _next_try(self, at: datetime) -> str:
        if self.no_retry_delay:
            return f"next try: now (--no-retry-delay; it was due at {at:%H:%M:%S} UTC)"
        wait = max((at - _utcnow()).total_seconds(), 0.0)
        return f"next try at {at:%H:%M:%S} UTC (in {_duration(wait)})"

    def _retry_now(self) -> None:
        """Make the run's waiting retries due now: this is conveyor run's own throwaway store,
        and the scheduler starts a retry as soon as its time has come."""
        with self.store.write() as conn:
            retries.make_retries_due(conn, self.run_pk)


_T = TypeVar("_T")


def _unseen(items: Iterable[_T], seen: set[int], key: Callable[[_T], int]) -> Iterator[_T]:
    """The items whose ``key`` is not in ``seen``, each added to it as it is given: what the
    watch has not printed yet."""
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            yield item


def _tail_before_traceback(log_path: str | None, exit_kind: str | None) -> str:
    """The last lines the task wrote; for an exception, those before the traceback (which
    the error already shows)."""
    text = log_tail(log_path or "", 40)
    if exit_kind == ExitKind.EXCEPTION:
        failed = text.find("[conveyor] failed:")
        if failed >= 0:  # cut at its line's start, the time written before it included
            text = text[: text.rfind("\n", 0, failed) + 1]
    return "\n".join(text.strip().splitlines()[-LOG_LINES:])


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"
