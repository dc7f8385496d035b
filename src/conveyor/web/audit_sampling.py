"""Refusals of callers nobody knows yet, counted and sampled rather than written one by one.

A failed or throttled login, a forged sign-in callback: anyone can send as many as they
like, and a row each let one client write hundreds of audit rows a second. So, per kind of
refusal and client address, the first :data:`BURST` in each :data:`WINDOW_SECONDS` are
written as they come, and after that one in :data:`EVERY`; a written row carries how many
refusals of its kind and address went unwritten before it (``unrecorded``), so the log
still adds up: each row stands for ``1 + unrecorded`` refusals. The counts live in the web
process (each process samples its own share). Refusals of a known user (a directory
refusing a role, a role change) are written every time, elsewhere.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

BURST = 5  # written as they come, per kind and address, in each window
EVERY = 100  # after the burst: one written in this many
WINDOW_SECONDS = 60.0
MAX_KEYS = 10_000  # addresses tracked at once; beyond, the quietest are forgotten


@dataclass
class _Count:
    window_start: float
    written: int = 0  # in this window
    unrecorded: int = 0  # since the last row written


class RefusalSampler:
    """Decides which anonymous refusals are written; thread-safe."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], _Count] = {}
        self._lock = threading.Lock()

    def admit(self, action: str, address: str | None) -> int | None:
        """None: count this refusal, write nothing; else write it, with this many
        unrecorded before it."""
        now = time.monotonic()
        key = (action, address or "unknown")
        with self._lock:
            count = self._counts.get(key)
            if count is None:
                if len(self._counts) >= MAX_KEYS:
                    self._forget_quiet(now)
                count = self._counts[key] = _Count(now)
            if now - count.window_start >= WINDOW_SECONDS:
                count.window_start, count.written = now, 0
            if count.written < BURST or count.unrecorded + 1 >= EVERY:
                count.written += 1
                unrecorded, count.unrecorded = count.unrecorded, 0
                return unrecorded
            count.unrecorded += 1
            return None

    def _forget_quiet(self, now: float) -> None:
        quiet = [k for k, c in self._counts.items() if now - c.window_start >= WINDOW_SECONDS]
        for key in quiet or list(self._counts)[: MAX_KEYS // 10]:
            del self._counts[key]


_STATE_LOCK = threading.Lock()


def sampler(state: object) -> RefusalSampler:
    """The app's sampler (``state``: the app's state), made on first use."""
    with _STATE_LOCK:
        found = getattr(state, "refusal_sampler", None)
        if not isinstance(found, RefusalSampler):
            found = RefusalSampler()
            state.refusal_sampler = found  # type: ignore[attr-defined]
    return found
