"""PostgreSQL servers of a fault test's own: ``initdb``/``pg_ctl`` from the machine's
PostgreSQL packages, on free ports, so stopping, killing or promoting one disturbs nothing
else on the machine. Run as the ``postgres`` user when the tests run as root (PostgreSQL
refuses root)."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class PrivatePostgres:
    bin: Path
    data: Path
    port: int
    options: str = ""

    def run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self.run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.data / "server.log"),
            "-o",
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off "
            + self.options,
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, *, down: float) -> None:
        """Stop the server fast (every connection cut), and start it ``down`` seconds later."""
        self.stop("fast")
        time.sleep(down)
        self.start()

    def kill(self) -> None:
        """SIGKILL the postmaster: no shutdown, no goodbye to clients or standbys (its
        backends notice their parent is gone and exit)."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)

    def url(self, database: str, port: int | None = None) -> str:
        return f"postgresql://postgres@127.0.0.1:{port or self.port}/{database}"

    def remove(self) -> None:
        with_postmaster = (self.data / "postmaster.pid").exists()
        try:
            if with_postmaster:
                self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # killed already
        finally:
            shutil.rmtree(self.data, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        message = "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return Path(found[-1]).parent


def new_data_dir() -> Path:
    data = Path(tempfile.mkdtemp(prefix="conveyor-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    return data


def new_server(options: str = "") -> PrivatePostgres:
    """A fresh, started server (``options``: more ``-c name=value`` for it)."""
    server = PrivatePostgres(postgres_bin(), new_data_dir(), free_port(), options)
    server.run("initdb", "-D", str(server.data), "-A", "trust", "-U", "postgres", "--no-sync")
    server.start()
    return server


def new_standby(primary: PrivatePostgres) -> PrivatePostgres:
    """A streaming standby of ``primary``: a base backup with ``-R`` (it follows the primary
    as ``primary_conninfo`` says), started on a port of its own."""
    standby = PrivatePostgres(primary.bin, new_data_dir(), free_port())
    standby.data.rmdir()  # pg_basebackup wants to make it
    standby.run(
        "pg_basebackup",
        "-h",
        "127.0.0.1",
        "-p",
        str(primary.port),
        "-U",
        "postgres",
        "-D",
        str(standby.data),
        "-R",
        "-X",
        "stream",
        "--no-sync",
    )
    standby.start()
    return standby
