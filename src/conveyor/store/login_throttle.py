"""Failed logins, counted in the store so every web process of one Conveyor shares them.

A key is ``user:<name>`` or ``addr:<client address>``. After ``max_failures`` failures under a
key, a login under it must wait ``backoff`` seconds after the last failure, doubling with each
further failure up to ``max_backoff``; a key quiet for ``max_backoff`` starts from zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, delete, insert, select, update
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


def wait_seconds(conn: Connection, keys: Iterable[str], policy: Policy) -> float:
    """How long a login under any of ``keys`` must still wait (0: it may try now)."""
    now = utcnow()
    rows = conn.execute(
        select(login_throttle.c.failures, login_throttle.c.last_failure_at).where(
            login_throttle.c.key.in_(_keys(keys))
        )
    ).all()
    waits = [
        (last + timedelta(seconds=policy.wait(failures)) - now).total_seconds()
        for failures, last in rows
        if now - last < timedelta(seconds=policy.max_backoff)
    ]
    return max([0.0, *waits])


def record_failure(conn: Connection, keys: Iterable[str], policy: Policy) -> None:
    """Count one failed login under each key (a stale count starts over)."""
    now = utcnow()
    stale = now - timedelta(seconds=policy.max_backoff)
    conn.execute(delete(login_throttle).where(login_throttle.c.last_failure_at < stale))
    for key in _keys(keys):
        bumped = conn.execute(
            update(login_throttle)
            .where(login_throttle.c.key == key)
            .values(failures=login_throttle.c.failures + 1, last_failure_at=now)
        )
        if bumped.rowcount:
            continue
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(login_throttle).values(key=key, failures=1, last_failure_at=now)
                )
        except IntegrityError:  # another process counted the first failure at the same time
            conn.execute(
                update(login_throttle)
                .where(login_throttle.c.key == key)
                .values(failures=login_throttle.c.failures + 1, last_failure_at=now)
            )


def clear(conn: Connection, keys: Iterable[str]) -> None:
    """A successful login forgets the failures under its keys."""
    conn.execute(delete(login_throttle).where(login_throttle.c.key.in_(_keys(keys))))
