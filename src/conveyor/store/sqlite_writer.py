"""Taking SQLite's one write lock as soon as it is free.

Every process of the embedded default (the scheduler, each local runner, the triggerer, the
web app) writes through the same lock. SQLite's busy handler, which waits for it, sleeps 1,
2, 5, 10, 15, 20, 25 ... 100 ms between attempts, so a writer that has waited a few times
sleeps 10 to 25 ms at a time while the hops it waits behind hold the lock for a millisecond
or two: in a burst of tries the runners waited a quarter of their time with the lock free.
A writer here asks again after 0.2 ms at first, 2 ms at most, for as long as the busy
handler would have waited less a second, then leaves the last attempt to it, so that a
store locked for the whole busy timeout fails as before, with SQLAlchemy's error.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

#: The connection's busy timeout: how long a statement waits for a lock before it fails.
BUSY_MS = 30_000
_FIRST_PAUSE = 0.0002
_LONGEST_PAUSE = 0.002
#: What the busy handler is left with for the last attempt.
_LAST_WAIT_MS = 1_000


def begin_write(
    driver: sqlite3.Connection, last_attempt: Callable[[], object] | None = None
) -> bool:
    """``BEGIN IMMEDIATE`` on ``driver``, asking again at short intervals while another
    connection holds the write lock; True when one of those began it. Still busy after the
    busy timeout less a second (or failing otherwise), the last attempt is left to the busy
    handler with a second to wait: ``last_attempt`` (the same ``BEGIN IMMEDIATE`` through
    SQLAlchemy, so that its error is SQLAlchemy's), by default on the driver; False then, or
    it raises as SQLite would."""
    deadline = time.monotonic() + (BUSY_MS - _LAST_WAIT_MS) / 1000
    pause = _FIRST_PAUSE
    driver.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return True
            except sqlite3.OperationalError as exc:
                busy = exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
                if not busy or time.monotonic() >= deadline:
                    break
            time.sleep(pause)
            pause = min(pause * 1.5, _LONGEST_PAUSE)
        driver.execute(f"PRAGMA busy_timeout={_LAST_WAIT_MS}")
        if last_attempt is None:
            driver.execute("BEGIN IMMEDIATE")
        else:
            last_attempt()
        return False
    finally:
        driver.execute(f"PRAGMA busy_timeout={BUSY_MS}")
