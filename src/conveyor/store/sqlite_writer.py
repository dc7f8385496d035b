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

#: The connection's busy timeout: how long a statement waits for a lock before it fails.
BUSY_MS = 30_000
_FIRST_PAUSE = 0.0002
_LONGEST_PAUSE = 0.002
#: What the busy handler is left with for the last attempt.
_LAST_WAIT_MS = 1_000


def begin_write(driver: sqlite3.Connection) -> bool:
    """``BEGIN IMMEDIATE`` on ``driver``, asking again at short intervals while another
    connection holds the write lock. False when nothing was begun (still busy after the busy
    timeout less a second, or another error): the busy timeout is left at a second for the
    caller's own ``BEGIN IMMEDIATE``, which raises as SQLite would, and
    :func:`restore_busy_timeout` puts it back after that."""
    deadline = time.monotonic() + (BUSY_MS - _LAST_WAIT_MS) / 1000
    pause = _FIRST_PAUSE
    driver.execute("PRAGMA busy_timeout=0")
    while True:
        try:
            driver.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            busy = exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
            if busy and time.monotonic() < deadline:
                time.sleep(pause)
                pause = min(pause * 1.5, _LONGEST_PAUSE)
                continue
            driver.execute(f"PRAGMA busy_timeout={_LAST_WAIT_MS}")
            return False
        except BaseException:
            restore_busy_timeout(driver)
            raise
        restore_busy_timeout(driver)
        return True


def restore_busy_timeout(driver: sqlite3.Connection) -> None:
    driver.execute(f"PRAGMA busy_timeout={BUSY_MS}")
