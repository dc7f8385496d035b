"""Is this Conveyor installation working? The store, its schema, the broker, the schedulers,
the triggerers.

``check`` answers for ``conveyor health`` (a container health check: exit 0 or 1) and for the
web process's ``/health``. Every check has a short time limit, so a hung dependency makes a
prompt "unhealthy" rather than a hung probe.

Beside the checks, the report lists the scheduler's problems: units of its loop (a DAG's new
runs, a run's advance...) that raise. They are shown, not counted against health: one DAG's
error is no reason to restart the scheduler that keeps running all the others.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from conveyor.clock import utcnow
from conveyor.config import Settings
from conveyor.store import liveness, problems, schema
from conveyor.store.engine import Store, hide_password

CHECKS = ("store", "schema", "broker", "schedulers", "triggerers")
TIMEOUT_SECONDS = 5
#: A scheduler that crashed longer ago than this is no longer mentioned.
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class SchedulerProblem:
    """A unit of the scheduler loop that keeps failing (see conveyor.scheduler.problems)."""

    action: str
    dag_id: str | None
    run_id: str | None
    error: str
    occurrences: int
    last_seen: str  # ISO 8601, UTC


@dataclass(frozen=True)
class HealthReport:
    checks: tuple[Check, ...]
    scheduler_problems: tuple[SchedulerProblem, ...] = ()

    @property
    def healthy(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.healthy else "unhealthy",
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks},
            "scheduler_problems": [vars(p) for p in self.scheduler_problems],
        }


def check(
    settings: Settings, *, only: Iterable[str] | None = None, store: Store | None = None
) -> HealthReport:
    """Run the checks (all, or those named in ``only``) and report each one.

    ``store``: an open store to reuse; by default each check opens a connection of its own,
    with a connect timeout, and closes it.
    """
    wanted = set(CHECKS if only is None else only)
    unknown = wanted - set(CHECKS)
    if unknown:
        raise ValueError(f"unknown health checks {sorted(unknown)}; choose from {list(CHECKS)}")
    probe = store or _probe_store(settings.db_url)
    checks: list[Check] = []
    store_check, answered = _check_store(probe)
    if "store" in wanted:
        checks.append(store_check)
    if "schema" in wanted:
        checks.append(_check_schema(probe) if answered else _skipped("schema"))
    if "broker" in wanted and settings.executor in ("celery", "celery_kubernetes"):
        checks.append(_check_broker(settings.broker_url))
    if "schedulers" in wanted:
        checks.append(_check_schedulers(probe, settings) if answered else _skipped("schedulers"))
    if "triggerers" in wanted:
        checks.append(_check_triggerers(probe, settings) if answered else _skipped("triggerers"))
    found = _scheduler_problems(probe) if "schedulers" in wanted and answered else ()
    return HealthReport(tuple(checks), found)


def _skipped(name: str) -> Check:
    return Check(name, False, "not checked: the store is unreachable")


@functools.lru_cache(maxsize=8)
def _probe_store(url: str) -> Store:
    """A store without a pool whose connections give up after TIMEOUT_SECONDS.

    One per URL and process: a probe runs every few seconds in the web process for its
    whole life, and a new engine per probe would grow its memory.
    """
    return Store(url, pool=False, pre_ping=False, connect_timeout=TIMEOUT_SECONDS)


def _check_store(store: Store) -> tuple[Check, bool]:
    """The store's check, and whether it answered (a read-only standby answers reads)."""
    try:
        writable = store.ping()
    except Exception as exc:  # whatever the driver raises, the answer is "unreachable"
        return Check("store", False, f"{store.describe()} unreachable: {_first_line(exc)}"), False
    if not writable:
        reason = "answers read-only: a standby in recovery, not (yet) promoted"
        return Check("store", False, f"{store.describe()} {reason}"), True
    return Check("store", True, f"{store.describe()} reachable"), True


@functools.cache
def _head_revision() -> str:
    # Alembic reads every migration file to find the head: once per process is enough (the
    # code, and so the head, cannot change under a running process).
    return schema.head_revision()


def _check_schema(store: Store) -> Check:
    try:
        current, head = schema.recorded_revision(store), _head_revision()
    except Exception as exc:
        return Check("schema", False, f"cannot read the schema revision: {_first_line(exc)}")
    if store.in_memory or current == head:
        return Check("schema", True, f"current (revision {head})")
    return Check(
        "schema",
        False,
        f"at {current or 'empty'}, expected {head}: run `conveyor db migrate`",
    )


def _check_broker(url: str) -> Check:
    shown = hide_password(url)
    try:
        from kombu import Connection
    except ImportError:
        return Check("broker", False, "the celery extra is not installed: conveyor[celery]")
    try:
        with Connection(url, connect_timeout=TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
    except Exception as exc:
        return Check("broker", False, f"{shown} unreachable: {_first_line(exc)}")
    return Check("broker", True, f"{shown} reachable")


def _check_schedulers(store: Store, settings: Settings) -> Check:
    """At least one scheduler beats; stale ones (crashed without stopping) are named."""
    none = Check("schedulers", False, "no scheduler is running: start `conveyor scheduler`")
    return _check_processes(store, settings, liveness.running_schedulers, none, lambda r: "")


def _check_triggerers(store: Store, settings: Settings) -> Check:
    """The triggerers, named as the schedulers are. None running is healthy (only deferred
    tries need one); triggerers that all went stale without recording a stop are not: the
    deferred tries wait for nobody."""
    none = Check("triggerers", True, "none running (deferred tries need one: `conveyor triggerer`)")
    return _check_processes(
        store,
        settings,
        liveness.running_triggerers,
        none,
        lambda r: f"{r.running}/{r.capacity} triggers, ",
    )


def _check_processes(
    store: Store,
    settings: Settings,
    running: Callable[..., Sequence[Any]],
    none: Check,
    load: Callable[[Any], str],
) -> Check:
    """The check named as ``none`` over the unstopped processes ``running`` finds with a
    heartbeat in the last :data:`FORGET_AFTER`: ``none`` when there are none, else what
    :func:`_heartbeats` says of them."""
    now = utcnow()
    stale_after = liveness.stale_after(settings.heartbeat_seconds)
    try:
        with store.read() as conn:
            rows = running(conn, since=now - FORGET_AFTER)
    except Exception as exc:
        return Check(none.name, False, f"cannot read heartbeats: {_first_line(exc)}")
    if not rows:
        return none
    alive, detail = _heartbeats(rows, now, stale_after, load)
    return Check(none.name, alive, detail)


def _heartbeats(
    rows: Sequence[Any], now: datetime, stale_after: timedelta, load: Callable[[Any], str]
) -> tuple[bool, str]:
    """Whether any of these processes is alive, and each named with its last heartbeat (the
    live ones with ``load``, what they hold); the schedulers' and triggerers' checks."""
    alive = [r for r in rows if r.alive(now, stale_after)]
    stale = [r for r in rows if not r.alive(now, stale_after)]
    parts = [f"{len(alive)} alive"]
    if alive:
        parts.append(
            ", ".join(
                f"{r.hostname} pid {r.pid} ({load(r)}"
                f"{(now - r.heartbeat_at).total_seconds():.0f}s ago)"
                for r in alive
            )
        )
    if stale:
        parts.append(
            "stale (no heartbeat for over "
            f"{stale_after.total_seconds():g}s): "
            + ", ".join(
                f"{r.hostname} pid {r.pid} (last {(now - r.heartbeat_at).total_seconds():.0f}s ago)"
                for r in stale
            )
        )
    return bool(alive), "; ".join(parts)


#: Problems listed in a report at most (the most recent); the web lists every one.
PROBLEMS_SHOWN = 20


def _scheduler_problems(store: Store) -> tuple[SchedulerProblem, ...]:
    """The scheduler's failing units, the most recent first; none if they cannot be read
    (a schema not yet migrated: the schema check says so)."""
    try:
        with store.read() as conn:
            found = problems.list_problems(conn)
    except Exception:
        return ()
    return tuple(
        SchedulerProblem(
            action=p.action,
            dag_id=p.dag_id,
            run_id=p.run_id,
            error=p.error,
            occurrences=p.occurrences,
            last_seen=p.last_seen.isoformat(timespec="seconds"),
        )
        for p in found[:PROBLEMS_SHOWN]
    )


def _first_line(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()
    return message[0] if message else type(exc).__name__
