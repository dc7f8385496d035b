"""Failed logins, counted in the store so every web process of one Conveyor shares them.

A key is ``user:<name>`` or ``addr:<client address>``. After ``max_failures`` failures under a
key, a login under it must wait ``backoff`` seconds after the last failure, doubling with each
further failure up to ``max_backoff``; a key quiet for ``max_backoff`` starts from zero. An
attempt counts as a failure from the moment it may check a password until it succeeds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, case, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from conveyor.clock import utcnow
from conveyor.store.tables import login_throttle

KEY_LENGTH = 300


@dataclass(frozen=True)
class Policy:
    max_failures: int = 5
    backoff: float = 30.0
    max_backoff: float = 900.0

    def wait(self, failures: int) -> float:
        """Seconds to wait after the last of ``failures`` failures (0: no wait)."""
        if failures < self.max_failures:
            return 0.0
        return float(
            min(self.backoff * 2 ** min(failures - self.max_failures, 32), self.max_backoff)
        )


def _keys(keys: Iterable[str]) -> list[str]:
    return [key[:KEY_LENGTH] for key in keys]


def reserve(conn: Connection, keys: Iterable[str], policy: Policy) -> float:
    """Count a login attempt under each key before its password is checked, unless a key
    must still wait: returns that wait (0: the attempt is counted and may check).

    Check and count are one step under the keys' row locks (SQLite's write lock), so of a
    burst of concurrent guesses only ``max_failures`` check a password: a count made after
    the check would let the whole burst through before the first failure is recorded. A
    successful login clears the count (:func:`clear`). Run it in a transaction of its own,
    committed before the password is checked.
    """
    now = utcnow()
    stale = now - timedelta(seconds=policy.max_backoff)
    ordered = sorted(set(_keys(keys)))  # one lock order for every process: no deadlock
    _forget_stale(conn, stale)
    for key in ordered:
        _ensure_row(conn, key, now)
    rows = conn.execute(
        select(login_throttle.c.failures, login_throttle.c.last_failure_at)
        .where(login_throttle.c.key.in_(ordered))
        .order_by(login_throttle.c.key)
        .with_for_update()
    ).all()
    waits: list[float] = [
        (last + timedelta(seconds=policy.wait(failures)) - now).total_seconds()
        for failures, last in rows
        if last > stale and policy.wait(failures) > 0  # (a concurrent count may be newer)
    ]
    wait = max([0.0, *waits])
    if wait > 0:
        return wait
    conn.execute(
        update(login_throttle)
        .where(login_throttle.c.key.in_(ordered))
        .values(
            failures=case(
                (login_throttle.c.last_failure_at <= stale, 1),
                else_=login_throttle.c.failures + 1,
            ),
            last_failure_at=now,
        )
    )
    return 0.0


def _forget_stale(conn: Connection, stale: datetime) -> None:
    """Delete keys quiet for ``max_backoff``; rows another login holds are left for later
    (waiting for them could deadlock with its own lock order)."""
    quiet = (
        select(login_throttle.c.key)
        .where(login_throttle.c.last_failure_at <= stale)
        .with_for_update(skip_locked=True)
    )
    conn.execute(delete(login_throttle).where(login_throttle.c.key.in_(quiet.scalar_subquery())))


def _ensure_row(conn: Connection, key: str, now: datetime) -> None:
    exists = conn.execute(select(login_throttle.c.key).where(login_throttle.c.key == key)).first()
    if exists is not None:
        return
    try:
        with conn.begin_nested():
            conn.execute(insert(login_throttle).values(key=key, failures=0, last_failure_at=now))
    except IntegrityError:  # another login made it meanwhile: it is there to lock now
        pass


def clear(conn: Connection, keys: Iterable[str]) -> None:
    """A successful login forgets the failures under its keys."""
    conn.execute(delete(login_throttle).where(login_throttle.c.key.in_(_keys(keys))))
