"""One transaction per request, committed with the response: a 5xx leaves nothing behind.

Handlers write through ``store.write()`` blocks as everywhere else; inside a request those
blocks join one shared transaction (see ``conveyor.store.engine.SharedTransaction``). It is
committed just before the response's status line goes out, when the body has been rendered,
and only if the status is below 500; an exception that escapes the app rolls it back. So a
run whose conf cannot be rendered, or any write followed by a crash, is never stored.

The commit runs in a thread of its own limiter, not the pool the handlers share: a request
holding the write transaction must never wait behind handlers that are themselves waiting for
that transaction's lock or connection (a burst of logins once froze every request that way
until the store's lock timeout, then answered 500s).
"""

from __future__ import annotations

from typing import Any

import anyio
from anyio.lowlevel import RunVar

from conveyor.store.engine import Store, shared_transaction
from conveyor.web.guards import HttpMiddleware

#: Commits that may run at once; on SQLite only one holds the write lock anyway.
COMMIT_THREADS = 8


_commits: RunVar[anyio.CapacityLimiter] = RunVar("conveyor_commits")


def _commit_threads() -> anyio.CapacityLimiter:
    """The commits' limiter of the running event loop (as anyio keeps its default one)."""
    try:
        return _commits.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(COMMIT_THREADS)
        _commits.set(limiter)
        return limiter


class CommitWithResponse(HttpMiddleware):
    """ASGI middleware around the app; ``store`` is read from ``app.state`` per request."""

    def __init__(self, app: Any, state: Any) -> None:
        super().__init__(app)
        self.state = state

    async def http(self, scope: Any, receive: Any, send: Any) -> None:
        store: Store = self.state.store
        commits = _commit_threads()
        with shared_transaction(store) as shared:

            async def send_after_commit(message: Any) -> None:
                if message["type"] == "http.response.start" and shared.conn is not None:
                    # A failed commit raises here, before the status went out: a 500.
                    await anyio.to_thread.run_sync(
                        shared.finish, message["status"] < 500, limiter=commits
                    )
                await send(message)

            await self.app(scope, receive, send_after_commit)
