"""A real SMB server for the samba provider's tests: Debian's smbd, with a config, a user
database and a share of its own under a temp folder, on a private loopback port, started
once per test module and stopped after.

smbd makes itself a session (and process group) leader; it must never be started with
``--no-process-group``: on exit it signals its whole process group, which would then be the
test runner's. Its process group is what is stopped at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SMBD = "/usr/sbin/smbd"
SMBPASSWD = "/usr/bin/smbpasswd"
LOGIN = "root"  # a Unix user smbd can map to; the tests run as root
PASSWORD = "Smb-Secret-9f3a"
SHARE = "data"


@dataclass(frozen=True)
class SmbServer:
    port: int
    share_path: Path  # the share's folder on this machine, for the tests to look into

    def uri(self, password: str = PASSWORD) -> str:
        """A ``samba://`` connection URI as Airflow users write it."""
        return f"samba://{LOGIN}:{password}@127.0.0.1:{self.port}/{SHARE}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unavailable(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _config(root: Path, port: int) -> str:
    return textwrap.dedent(
        f"""\
        [global]
          server role = standalone server
          security = user
          map to guest = never
          passdb backend = tdbsam:{root}/private/passdb.tdb
          private dir = {root}/private
          lock directory = {root}/lock
          state directory = {root}/state
          cache directory = {root}/cache
          pid directory = {root}/run
          ncalrpc dir = {root}/ncalrpc
          log file = {root}/smbd.log
          smb ports = {port}
          interfaces = 127.0.0.1
          bind interfaces only = yes
          disable netbios = yes
          load printers = no
          printcap name = /dev/null
          disable spoolss = yes
        [{SHARE}]
          path = {root}/share
          read only = no
        """
    )


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


@pytest.fixture(scope="module")
def smb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmbServer]:
    if not (os.access(SMBD, os.X_OK) and shutil.which(SMBPASSWD)):
        _unavailable(f"{SMBD} is missing (scripts/services.sh ensure_smbd installs samba)")
    if os.geteuid() != 0:
        _unavailable("smbd's tests run as root (smbd maps the share's user to a Unix one)")
    root = tmp_path_factory.mktemp("smbd")
    for folder in ("private", "lock", "state", "cache", "run", "ncalrpc", "share"):
        (root / folder).mkdir()
    port = _free_port()
    config = root / "smb.conf"
    config.write_text(_config(root, port))
    subprocess.run(
        [SMBPASSWD, "-c", str(config), "-s", "-a", LOGIN],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        text=True,
        check=True,
        capture_output=True,
    )
    # No --no-process-group: smbd becomes its own session leader (see the module's docstring).
    with (root / "smbd.out").open("w") as out:
        process = subprocess.Popen(
            [SMBD, "--foreground", "--debug-stdout", f"--configfile={config}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                _unavailable(f"smbd did not start: {(root / 'smbd.out').read_text()[-2000:]}")
            time.sleep(0.1)
        yield SmbServer(port, root / "share")
    finally:
        # smbd leads its own process group: stop it and the children it forked per client.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
