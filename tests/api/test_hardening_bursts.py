"""Bursts of logins against a real ``conveyor web`` process, on both stores.

A flood of wrong logins from one client must not freeze other users, the CLI or the store
(1); a burst of concurrent guesses for one user is counted as it arrives (6). Each client of
the flood sends from an address of its own on the loopback network (127.0.0.0/8), as
clients on other machines would; the other user sends from 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest
from api_helpers import PASSWORDS, World, csrf_from, fresh_fixture  # noqa: F401  (a fixture)
from test_cli_web import CONVEYOR, free_port, wait_for_http

#: A request of the other user that has not answered by then hangs behind the flood (the
#: freeze this guards against lasted the store's 30 s lock timeout). Not a speed target:
#: bench/login_flood.py measures latency.
HANG = 15.0


#: The per-address limits raised out of the way: what is left to keep the other users served
#: is the rest of the fix (no write transaction held while waiting, commits in threads of
#: their own, argon2 waited for in the event loop).
NO_ADDRESS_LIMITS = {
    "CONVEYOR_MAX_REQUESTS_PER_ADDRESS": "1000",
    "CONVEYOR_MAX_EXPENSIVE_REQUESTS_PER_ADDRESS": "1000",
}


@pytest.fixture(name="web", params=["limits", "no-address-limits"])
def web_fixture(request: pytest.FixtureRequest, fresh: World, tmp_path: Path) -> Iterator[str]:
    """``conveyor web`` on ``fresh``'s store, as its own process; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "CONVEYOR_HOME": str(fresh.settings.home),
        "CONVEYOR_DATABASE_URL": fresh.store.url,
        "CONVEYOR_DAGS_FOLDER": str(fresh.settings.dags_folder),
        **(NO_ADDRESS_LIMITS if request.param == "no-address-limits" else {}),
    }
    with open(tmp_path / "web.log", "w") as output:  # a file: a pipe could fill and block it
        process = subprocess.Popen(
            [CONVEYOR, "web", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/health", process)  # type: ignore[arg-type]
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _client(base: str, address: str = "127.0.0.1") -> httpx.Client:
    # A connection per request: a kept-alive one idle as long as the server's keep-alive
    # (5 s, as long as the loaded machine may take to fetch the flood's forms) can be closed
    # by the server just as a request goes out on it: the client's race, not the flood's.
    no_keep_alive = httpx.Limits(max_keepalive_connections=0)
    return httpx.Client(
        base_url=base,
        transport=httpx.HTTPTransport(local_address=address, limits=no_keep_alive),
        timeout=HANG,
    )


def _login_forms(base: str, addresses: list[str]) -> list[tuple[httpx.Client, str]]:
    """One client per address with the login form's CSRF token, fetched one at a time."""
    forms = []
    for address in addresses:
        client = _client(base, address)
        form = client.get("/login")
        assert form.status_code == 200, form.text
        forms.append((client, csrf_from(form.text)))
    return forms


def _burst(
    forms: list[tuple[httpx.Client, str]], username: str, password: str
) -> list[httpx.Response]:
    """Every client posts its login at the same moment."""
    start = threading.Barrier(len(forms))

    def post(form: tuple[httpx.Client, str]) -> httpx.Response:
        client, csrf = form
        start.wait(timeout=HANG)
        return client.post(
            "/login", data={"username": username, "password": password, "csrf_token": csrf}
        )

    try:
        with ThreadPoolExecutor(len(forms)) as pool:
            return list(pool.map(post, forms))
    finally:
        for client, _ in forms:
            client.close()


def _logged_in(base: str, role: str) -> httpx.Client:
    client = _client(base)
    form = client.get("/login")
    done = client.post(
        "/login",
        data={"username": role, "password": PASSWORDS[role], "csrf_token": csrf_from(form.text)},
    )
    assert done.status_code in (200, 303), done.text
    return client


# 1: a flood of wrong logins from one client ---------------------------------------------


def test_a_flood_of_wrong_logins_from_one_client_leaves_others_served(
    fresh: World, web: str
) -> None:
    viewer = _logged_in(web, "viewer")
    forms = _login_forms(web, ["127.0.0.2"] * 48)
    flooding = threading.Event()
    answers: list[tuple[str, int]] = []
    failures: list[str] = []

    def other_user() -> None:
        # A page, an API call, and a CLI command writing to the store, during the flood.
        flooding.wait(timeout=HANG)
        for _ in range(5):
            for path in ("/api/v1/version", "/dags/pipeline"):
                try:
                    answers.append((path, viewer.get(path).status_code))
                except httpx.TimeoutException:
                    failures.append(f"{path} did not answer within {HANG}s")
        trigger = subprocess.run(
            [CONVEYOR, "dags", "trigger", "pipeline"],
            env={
                **os.environ,
                "CONVEYOR_HOME": str(fresh.settings.home),
                "CONVEYOR_DATABASE_URL": fresh.store.url,
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        answers.append(("conveyor dags trigger", trigger.returncode))

    beside = threading.Thread(target=other_user)
    beside.start()
    try:
        flooding.set()
        flood = _burst(forms, "admin", "not-the-password")
    finally:
        beside.join()
        viewer.close()

    codes = [answer.status_code for answer in flood]
    assert set(codes) <= {401, 429}, codes  # never a 500
    assert codes.count(401) <= 5  # the address's count (login_max_failures) stops the rest
    refused = [answer for answer in flood if answer.status_code == 429]
    assert refused and all(answer.headers["retry-after"] for answer in refused)
    assert failures == []
    assert answers == [("/api/v1/version", 200), ("/dags/pipeline", 200)] * 5 + [
        ("conveyor dags trigger", 0)
    ]


# 6: a burst of guesses for one user is counted as it arrives ----------------------------


def test_a_burst_of_guesses_for_one_user_checks_only_login_max_failures(web: str) -> None:
    # From 40 addresses: only the user's own count can stop them.
    forms = _login_forms(web, [f"127.0.0.{10 + n}" for n in range(40)])

    codes = [answer.status_code for answer in _burst(forms, "op", "a-guess")]

    assert codes.count(401) == 5 and codes.count(429) == 35, codes
    [right] = _burst(_login_forms(web, ["127.0.0.60"]), "op", PASSWORDS["op"])
    assert right.status_code == 429  # the user waits, whatever the address
