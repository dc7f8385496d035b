"""A real OpenID Connect provider for the sign-in tests, private to the test module.

PyPI's ``oidc-provider-mock`` (Authlib's authorization server: discovery, JWKS, the code
flow, ID tokens signed with a key it makes at start, a sign-out page) runs from its own
virtualenv (scripts/services.sh ``ensure_oidc_provider`` exports its command as
``CONVEYOR_TEST_OIDC_PROVIDER``) on a free loopback port. Its sign-in form takes a
subject; the users the tests sign in as are given to it with their claims, groups
included. A missing provider skips the tests locally and fails them in CI.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

START_SECONDS = 60
#: subject -> claims the provider puts in its ID tokens.
USERS: dict[str, dict[str, Any]] = {
    "erin": {"preferred_username": "erin", "email": "erin@example.com", "groups": ["ops"]},
    "frank": {"preferred_username": "frank", "groups": ["readers"]},
    "gina": {"preferred_username": "gina", "groups": ["elsewhere"]},
    "admin": {"preferred_username": "admin", "groups": ["ops"]},
}


@dataclass(frozen=True)
class OIDCProvider:
    port: int
    log: Path

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_user(self, sub: str, claims: dict[str, Any]) -> None:
        """Change what the provider says of ``sub`` (its PUT /users/<sub>)."""
        answer = httpx.put(f"{self.issuer}/users/{sub}", json=claims, timeout=30)
        assert answer.status_code < 300, answer.text


def _unavailable(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ready(issuer: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        answer = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2)
        return answer.status_code == 200
    return False


@contextlib.contextmanager
def running_provider(folder: Path) -> Iterator[OIDCProvider]:
    command = os.environ.get("CONVEYOR_TEST_OIDC_PROVIDER", "")
    if not command or not os.access(command, os.X_OK):
        _unavailable("no OpenID Connect provider (scripts/services.sh ensure_oidc_provider)")
    port = _free_port()
    claims = [json.dumps({"sub": sub, **values}) for sub, values in USERS.items()]
    args = [command, "--host", "127.0.0.1", "--port", str(port), "--require-nonce", "true"]
    for one in claims:
        args += ["--user-claims", one]
    log_path = folder / "oidc-provider.log"
    log = log_path.open("w")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    provider = OIDCProvider(port, log_path)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not _ready(provider.issuer):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the provider did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        yield provider
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)
        log.close()
