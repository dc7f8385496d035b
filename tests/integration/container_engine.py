"""Podman for the container providers' tests: a small local image, and podman's Docker-API
service on a socket of the test's own.

No registry is reachable, so the image is made here: a root filesystem of Debian's static
busybox (``busybox-static``, installed by ``ensure_podman``), imported in a second and kept
under one name, so it is made once per machine. (Conveyor's own Debian base from
``scripts/image`` takes minutes to make on a cold machine, and has no ``PATH`` in its config,
which ``podman kube play`` does not fill in.) Without podman the
tests skip, but fail when ``CI=true`` (``scripts/services.sh`` installs it there).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

#: The image every container of these tests runs (sh, echo, cat, env, ls, sleep...).
BOX_IMAGE = "localhost/conveyor-test-box:1"
BUSYBOX = Path("/bin/busybox")
#: The commands the busybox image links (its sh runs the rest as applets too).
_APPLETS = ("sh", "echo", "cat", "env", "ls", "sleep", "mkdir", "printf", "test", "true", "false")
#: Seconds to wait for podman's service to answer.
SERVICE_WAIT = 60


def unavailable(message: str) -> None:
    """Skip locally; fail in CI, where scripts/services.sh installs what these tests need."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def podman_path() -> str:
    found = shutil.which("podman")
    if found is None:
        unavailable("podman is not installed: the container provider tests need it")
    assert found is not None
    return found


def podman(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """podman with runc, the runtime that works on these hosts (docs/deploy.md)."""
    command = [podman_path()]
    if shutil.which("runc"):
        command += ["--runtime", "runc"]
    done = subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done


def _exists(image: str) -> bool:
    return podman("image", "exists", image, check=False).returncode == 0


def _busybox_rootfs() -> bytes:
    """A tar of a root filesystem holding only a static busybox and its applets' links."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for folder in ("bin", "tmp", "etc"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
        tar.add(str(BUSYBOX), arcname="bin/busybox")
        for applet in _APPLETS:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
    return data.getvalue()


def box_image() -> str:
    """The tests' image, made once per machine (see the module's docstring)."""
    podman_path()
    if _exists(BOX_IMAGE):
        return BOX_IMAGE
    if not BUSYBOX.is_file():
        unavailable(f"{BUSYBOX} is missing (apt-get install busybox-static): no image to run")
    done = subprocess.run(
        [podman_path(), "import", "--change", "ENV PATH=/bin", "-", BOX_IMAGE],
        input=_busybox_rootfs(),
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return BOX_IMAGE


@dataclass(frozen=True)
class DockerService:
    """podman's Docker-compatible API on a socket of this test session."""

    url: str
    log: Path

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


def _answers(socket_path: Path) -> bool:
    import socket

    if not socket_path.is_socket():
        return False
    with socket.socket(socket.AF_UNIX) as probe:
        probe.settimeout(5)
        try:
            probe.connect(str(socket_path))
            probe.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b"OK" in probe.recv(4096)
        except OSError:
            return False


def docker_service(folder: Path) -> Iterator[DockerService]:
    """Start ``podman system service`` on a socket in ``folder``; stop it at the end."""
    podman_path()
    socket_path = folder / "podman.sock"
    log = folder / "podman-service.log"
    command = [podman_path()]
    if shutil.which("runc"):
        command += ["--runtime", "runc"]
    with log.open("wb") as out:
        service = subprocess.Popen(
            [*command, "system", "service", "--time=0", f"unix://{socket_path}"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SERVICE_WAIT
        while not _answers(socket_path):
            if service.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"podman's service did not answer:\n{log.read_text()}")
            time.sleep(0.1)
        yield DockerService(f"unix://{socket_path}", log)
    finally:
        service.terminate()
        try:
            service.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait(timeout=30)
