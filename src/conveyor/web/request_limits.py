"""Requests in flight per client address: a flood from one address is refused, not queued.

Sync handlers share one pool of threads (40) and the store's few connections. One client that
sends a hundred logins at once would otherwise take all of them, and every other user's
request would wait behind the flood. So each client address may have at most
``max_requests_per_address`` requests in flight, and at most
``max_expensive_requests_per_address`` of the expensive ones (a login, a password hashed, a
log read); one more is answered at once with 429 and ``Retry-After``, before it reads its
body, touches the store or takes a thread.

The address is the one uvicorn reports: the browser's behind a proxy it trusts
(``FORWARDED_ALLOW_IPS``), else the proxy's, which all its users then share.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from conveyor.web.guards import HttpMiddleware, send_problem

RETRY_AFTER_SECONDS = 1


def is_expensive(method: str, path: str) -> bool:
    """A login, a new user (argon2, ~50 ms of CPU and 64 MiB each), a log read (up to 1 MiB
    read from disk or a bucket)."""
    path = path.rstrip("/")
    if method == "POST" and (
        path.endswith(("/login", "/api/v1/users", "/auth/token", "/auth/token/cli"))
    ):
        return True
    # Airflow's log route (/api/v2/.../logs/{try_number}) ends in the try's number.
    return method == "GET" and (path.endswith("/log") or "/logs/" in path)


class PerAddressLimit(HttpMiddleware):
    """ASGI middleware: at most ``max_requests`` in flight per client address, of which at
    most ``max_expensive`` expensive (:func:`is_expensive`); more are answered 429.

    The counts live in the process; each web process bounds its own share.
    """

    def __init__(self, app: Any, *, max_requests: int, max_expensive: int) -> None:
        super().__init__(app)
        self.max_requests = max_requests
        self.max_expensive = max_expensive
        self.in_flight: Counter[str] = Counter()
        self.expensive: Counter[str] = Counter()
        self.lock = threading.Lock()  # one app may serve from several event loops (tests do)

    async def http(self, scope: Any, receive: Any, send: Any) -> None:
        client = scope.get("client")
        address = client[0] if client else "unknown"
        expensive = is_expensive(scope["method"], scope["path"])
        refused = self._enter(address, expensive)
        if refused:
            await _refuse(send, address, refused)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            with self.lock:
                _release(self.in_flight, address)
                if expensive:
                    _release(self.expensive, address)

    def _enter(self, address: str, expensive: bool) -> str | None:
        """Count the request in, or say which limit it is over."""
        with self.lock:
            if self.in_flight[address] >= self.max_requests:
                return f"{self.max_requests} requests (max_requests_per_address)"
            if expensive and self.expensive[address] >= self.max_expensive:
                return (
                    f"{self.max_expensive} logins, new users or log reads "
                    "(max_expensive_requests_per_address)"
                )
            self.in_flight[address] += 1
            if expensive:
                self.expensive[address] += 1
            return None


def _release(counts: Counter[str], address: str) -> None:
    counts[address] -= 1
    if counts[address] <= 0:
        del counts[address]  # an address with nothing in flight costs no memory


async def _refuse(send: Any, address: str, limit: str) -> None:
    reason = (
        f"too many requests at once from {address}: at most {limit} run at once per client "
        f"address; try again in {RETRY_AFTER_SECONDS} s"
    )
    await send_problem(send, 429, reason, [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())])
