"""A real OpenSSH server for the ssh and sftp provider tests, private to the test module,
and the connections and DAG runs that use it.

Debian's ``/usr/sbin/sshd`` runs in the foreground on a free loopback port with a config,
host key and ``authorized_keys`` made for it in a temporary folder (SFTP through its
built-in ``internal-sftp``), and is stopped when the module's tests are done. It logs in
the user running the tests with a key the fixture makes. It asks for passwords too, so that a
wrong one is refused as a real server refuses it (root's password logins are refused
outright). A missing sshd skips the tests locally and fails them in CI (scripts/services.sh
installs it).
"""

from __future__ import annotations

import contextlib
import getpass
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

import pytest
from sql_servers import ended, run_dag_file

SSHD = "/usr/sbin/sshd"
#: Seconds for sshd to answer with its banner once started.
START_SECONDS = 20
#: The passphrase of the fixture's PEM key (the connection extra private_key_passphrase).
PASSPHRASE = "fixture-Passphrase-77"


@dataclass(frozen=True)
class SSHServer:
    """Where the server listens and what logs in to it."""

    port: int
    user: str
    #: An OpenSSH private key file without a passphrase (the extra key_file).
    key_file: Path
    #: The text of an RSA key in PEM form, encrypted with PASSPHRASE (the extra private_key).
    private_key: str
    #: The server's host key as known_hosts writes it: "ssh-ed25519 AAAA...".
    host_key: str
    #: A key the server does not trust.
    stranger_key_file: Path
    log: Path

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def connection(server: SSHServer, **extra: Any) -> str:
    """An ``ssh`` connection to the test server as ``AIRFLOW_CONN_<ID>`` holds it, with
    timeouts long enough for a busy machine (Airflow's 10 seconds are short there)."""
    extra = {"conn_timeout": "60", "cmd_timeout": "60", **extra}
    fields: dict[str, Any] = {
        "conn_type": "ssh",
        "host": "127.0.0.1",
        "port": server.port,
        "login": server.user,
        "extra": extra,
    }
    return json.dumps(fields)


def run(tmp_path: Path, name: str, source: str, env: dict[str, str]) -> Any:
    """``conveyor run`` on a DAG file (``sql_servers.run_dag_file``) with a HOME of its own,
    so that nothing of the user's ~/.ssh (keys, known_hosts) takes part."""
    home = tmp_path / "user"
    home.mkdir(exist_ok=True)
    return run_dag_file(tmp_path, name, source, {"HOME": str(home), **env})


def failed_keeping_secrets(done: Any, tmp_path: Path, secret: str, key: str) -> tuple[str, str]:
    """Asserts that the run failed and that neither its output nor its tries' logs show the
    password ``secret`` or a line of the private ``key``; the output and the logs."""
    output, logs = ended(done, tmp_path, 1)
    for text in (output, logs):
        assert secret not in text
        assert all(line not in text for line in key.splitlines()[1:-1])
    return output, logs


def _unavailable(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _keygen(path: Path, kind: str, *extra: str, passphrase: str = "") -> None:
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-t",
            kind,
            "-N",
            passphrase,
            "-C",
            "conveyor-test",
            "-f",
            str(path),
            *extra,
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(log: Path, port: int) -> bool:
    """Whether this sshd says it listens: a probe of the port could reach another process
    that took the port first."""
    return log.exists() and f"Server listening on 127.0.0.1 port {port}." in log.read_text()


def _config(folder: Path, port: int, user: str) -> Path:
    config = folder / "sshd_config"
    config.write_text(
        f"""\
ListenAddress 127.0.0.1
Port {port}
HostKey {folder / "host_key"}
PidFile {folder / "sshd.pid"}
AuthorizedKeysFile {folder / "authorized_keys"}
AllowUsers {user}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AcceptEnv CONVEYOR_TEST_*
Subsystem sftp internal-sftp
LogLevel VERBOSE
MaxStartups 50:30:100
"""
    )
    return config


def _start(folder: Path, user: str) -> tuple[subprocess.Popen[bytes], int, Path]:
    """sshd on a free port, and its log; another process may take the port between the probe
    and the bind, so a server that exits at once is started again on another."""
    for _ in range(5):
        port = _free_port()
        config = _config(folder, port, user)
        log = folder / f"sshd-{port}.log"
        server = subprocess.Popen(
            [SSHD, "-D", "-f", str(config), "-E", str(log)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_SECONDS
        while server.poll() is None and time.monotonic() < deadline:
            if _listening(log, port):
                return server, port, log
            time.sleep(0.1)
        _stop(server)
    raise RuntimeError(f"sshd did not start: {log.read_text(errors='replace')[-2000:]}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop sshd and the session processes it forked (its own process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    """A running sshd for the module's tests; stopped after them."""
    if not os.access(SSHD, os.X_OK):
        _unavailable(f"{SSHD} is missing (apt-get install openssh-server)")
    if os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation
    folder = tmp_path_factory.mktemp("sshd")
    user = getpass.getuser()
    _keygen(folder / "host_key", "ed25519")
    _keygen(folder / "client_key", "ed25519")
    _keygen(folder / "pem_key", "rsa", "-b", "2048", "-m", "PEM", passphrase=PASSPHRASE)
    _keygen(folder / "stranger_key", "ed25519")
    (folder / "authorized_keys").write_text(
        (folder / "client_key.pub").read_text() + (folder / "pem_key.pub").read_text()
    )
    host_key = " ".join((folder / "host_key.pub").read_text().split()[:2])
    server, port, log = _start(folder, user)
    try:
        yield SSHServer(
            port=port,
            user=user,
            key_file=folder / "client_key",
            private_key=(folder / "pem_key").read_text(),
            host_key=host_key,
            stranger_key_file=folder / "stranger_key",
            log=log,
        )
    finally:
        _stop(server)
