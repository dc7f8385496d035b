"""The per-address limit on requests in flight, driven through its ASGI interface."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from conveyor.web.request_limits import PerAddressLimit, is_expensive


class _Held:
    """An app whose requests stay in flight until released: what a slow handler does."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.entered += 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def _request(app: Any, address: str, method: str, path: str) -> tuple[int, dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "client": (address, 5000)}
    await app(scope, receive, send)
    headers = {k.decode(): v.decode() for k, v in sent[0].get("headers", [])}
    body = json.loads(sent[1]["body"]) if sent[0]["status"] == 429 else {}
    return sent[0]["status"], {**headers, **body}


def test_one_address_over_its_limits_is_refused_at_once_and_others_are_not() -> None:
    async def scenario() -> None:
        held = _Held()
        app = PerAddressLimit(held, max_requests=3, max_expensive=1)
        login = asyncio.create_task(_request(app, "10.0.0.1", "POST", "/cv/login"))
        reads = [asyncio.create_task(_request(app, "10.0.0.1", "GET", "/api/v1/dags"))]
        await asyncio.sleep(0)  # both are in flight, held
        second_login = await _request(app, "10.0.0.1", "POST", "/login")
        for _ in range(2):  # the login held takes none of the reads' slots
            reads.append(asyncio.create_task(_request(app, "10.0.0.1", "GET", "/api/v1/dags")))
        await asyncio.sleep(0)
        assert held.entered == 4
        fourth = await _request(app, "10.0.0.1", "GET", "/api/v1/version")
        held.release.set()
        other = await _request(app, "10.0.0.2", "POST", "/login")

        assert second_login[0] == 429 and second_login[1]["retry-after"] == "1"
        assert "max_expensive_requests_per_address" in second_login[1]["detail"]
        assert fourth[0] == 429 and "max_requests_per_address" in fourth[1]["detail"]
        assert other[0] == 200
        assert [(await task)[0] for task in [login, *reads]] == [200, 200, 200, 200]
        # Answered requests leave nothing behind: the address may send again.
        assert app.in_flight == {} and app.expensive == {}
        assert (await _request(app, "10.0.0.1", "POST", "/login"))[0] == 200

    asyncio.run(scenario())


def test_what_is_expensive() -> None:
    assert is_expensive("POST", "/conveyor/login")
    assert is_expensive("POST", "/api/v1/users/")
    # A task page follows a log, shows its tail and downloads it at once: ordinary requests.
    assert not is_expensive("GET", "/api/v1/dags/d/runs/r/tasks/t/tries/1/log")
    assert not is_expensive("GET", "/api/v2/dags/d/dagRuns/r/taskInstances/t/logs/1")
    assert not is_expensive("GET", "/login")
    assert is_expensive("GET", "/api/v1/dags", basic_auth=True)  # a password checked
    assert is_expensive("GET", "/login/oidc/callback")
    assert not is_expensive("GET", "/api/v1/users")
    assert not is_expensive("DELETE", "/api/v1/users/ann")
