"""Requests in flight per client address: a flood from one address is refused, not queued.

Sync handlers share one pool of threads (40) and the store's few connections. One client that
sends a hundred logins at once would otherwise take all of them, and every other user's
request would wait behind the flood. So each client address may have at most
``max_requests_per_address`` requests in flight, and besides those at most
``max_expensive_requests_per_address`` expensive ones (a sign-in, a password hashed); one
more is answered at once with 429 and ``Retry-After``, before it reads its body,
touches the store or takes a thread. The two limits are apart, so a flood of wrong sign-ins
from one address (behind a proxy that does not forward client addresses: every user's)
never answers 429 to requests that come with a session or a token. A log read is an
ordinary request: it reads at most 1 MiB, and one task page follows a log, shows its tail
and downloads it at once, which a limit of sign-ins' size would refuse.

The address is the one uvicorn reports: the browser's behind a proxy it trusts
(``FORWARDED_ALLOW_IPS``), else the proxy's, which all its users then share.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from conveyor.web.guards import HttpMiddleware, send_problem

RETRY_AFTER_SECONDS = 1


def is_expensive(method: str, path: str, basic_auth: bool = False) -> bool:
    """A sign-in (a login, an access token, a request with basic auth: argon2, ~50 ms of
    CPU and 64 MiB each; an OpenID Connect callback, which asks the provider), a new user."""
    path = path.rstrip("/")
    if basic_auth:
        return True
    if method == "POST" and (
        path.endswith(("/login", "/api/v1/users", "/auth/token", "/auth/token/cli"))
    ):
        return True
    return method == "GET" and path.endswith("/login/oidc/callback")


class PerAddressLimit(HttpMiddleware):
    """ASGI middleware: at most ``max_requests`` in flight per client address, and besides
    them at most ``max_expensive`` expensive ones (:func:`is_expensive`); more are answered
    429.

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
        expensive = is_expensive(scope["method"], scope["path"], _basic_auth(scope))
        refused = self._enter(address, expensive)
        if refused:
            await _refuse(send, address, refused)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            with self.lock:
                _release(self.expensive if expensive else self.in_flight, address)

    def _enter(self, address: str, expensive: bool) -> str | None:
        """Count the request in, or say which limit it is over. An expensive request counts
        against its own limit only: a flood of sign-ins waiting for argon2 never takes the
        slots of the requests that come with a session or token."""
        with self.lock:
            if expensive:
                if self.expensive[address] >= self.max_expensive:
                    return (
                        f"{self.max_expensive} sign-ins or new users "
                        "(max_expensive_requests_per_address)"
                    )
                self.expensive[address] += 1
                return None
            if self.in_flight[address] >= self.max_requests:
                return f"{self.max_requests} requests (max_requests_per_address)"
            self.in_flight[address] += 1
            return None


def _basic_auth(scope: Any) -> bool:
    """Whether the request signs in with ``Authorization: Basic`` (a password checked)."""
    for name, value in scope.get("headers") or ():
        if name == b"authorization":
            return bool(value[:6].lower() == b"basic ")
    return False


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
