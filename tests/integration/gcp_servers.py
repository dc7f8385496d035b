"""Real stand-ins for BigQuery and Cloud Storage, for the google provider's tests.

Cloud Storage: ``gcp-storage-emulator``, in a thread of the test process on a private loopback
port, keeping its objects on disk under ``<folder>/.cloudstorage/<bucket>/<name>``.
BigQuery: ``bqemulator`` (DuckDB inside), a process of its own from the virtualenv
``ensure_bqemulator`` (scripts/services.sh) makes, on private REST and gRPC ports, with a HOME
holding DuckDB's spatial extension (it would download it at start otherwise).

The two share one folder: bqemulator reads and writes ``gs://B/N`` as the file
``$BQEMU_GCS_LOCAL_ROOT/B/N``, and that root is the storage emulator's own object folder.
A load job therefore reads what was uploaded through the storage API. The other way needs one
more step: the storage emulator keeps object metadata in memory, so the file an extract job
wrote is not an object yet. ``AdoptingHandler`` makes it one before each request it answers
(it registers every file of a known bucket that its metadata lacks, or whose size changed),
so a DAG's next task sees the extract's output as it would on Google's side. bqemulator
writes an extract's file but makes no folder for it: the tests extract to names at a bucket's
top (``gs://B/name.csv``), whose folder the storage emulator made with the bucket.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http import server
from pathlib import Path
from typing import Any

import pytest
from gcp_storage_emulator import settings as gcs_settings
from gcp_storage_emulator.handlers import objects as gcs_objects
from gcp_storage_emulator.server import RequestHandler
from gcp_storage_emulator.storage import Storage

from tools_cache import tools_dir

PROJECT = "conveyor-test"
REPO = Path(__file__).resolve().parents[2]
#: The files the storage emulator keeps beside the objects, never objects themselves.
_NOT_OBJECTS = (".meta", "_resumable", "_softdelete")
#: Held while files are adopted: requests are served in threads of their own.
_ADOPTING = threading.Lock()


@dataclass(frozen=True)
class GcpEmulators:
    """Where the two emulators listen, and the environment that points a client at them."""

    storage_host: str
    bigquery_host: str
    shared_root: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "STORAGE_EMULATOR_HOST": self.storage_host,
            "BIGQUERY_EMULATOR_HOST": self.bigquery_host,
            "GOOGLE_CLOUD_PROJECT": PROJECT,
        }


def adopt_files(storage: Storage, base_url: str) -> None:
    """Make each file under a bucket's folder that the emulator does not know an object.

    Only the emulator's metadata is written: the file stays as the other process left it.
    Rewriting the same bytes through the emulator (``create_file``) truncates the file first,
    and a download another request's thread served in that moment read nothing. One thread
    adopts at a time, so a file is settled and registered once.
    """
    root = Path(storage.get_storage_base()) / gcs_settings.STORAGE_DIR
    with _ADOPTING:
        adopted = False
        for bucket in list(storage.buckets):
            folder = root / bucket
            if not folder.is_dir():
                continue
            known = storage.objects.setdefault(bucket, {})
            for path in folder.rglob("*"):
                name = path.relative_to(folder).as_posix()
                if not path.is_file() or name.startswith(_NOT_OBJECTS):
                    continue
                try:
                    if name in known and int(known[name].get("size", -1)) == path.stat().st_size:
                        continue
                    content = _settled_content(path)
                except FileNotFoundError:  # deleted meanwhile through another request
                    continue
                resource = gcs_objects._make_object_resource(
                    base_url, bucket, name, "application/octet-stream", len(content)
                )
                known[name] = gcs_objects._checksums(content, resource)
                adopted = True
        if adopted:
            storage._write_config_to_file()


def _settled_content(path: Path, limit: float = 10.0) -> bytes:
    """The file's bytes once no one has written it for a moment (a second while it is empty).

    A file adopted while another process was still writing it (an extract in progress) would be
    registered with the checksum of part of it, and the client's download check would fail.
    """
    deadline = time.monotonic() + limit
    while True:
        before = path.stat()
        quiet = 0.2 if before.st_size else 1.0
        age = time.time() - before.st_mtime
        if age < quiet and time.monotonic() < deadline:
            time.sleep(quiet - age)
            continue
        content = path.read_bytes()
        after = path.stat()
        if (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns):
            return content
        if time.monotonic() >= deadline:
            return content


class AdoptingHandler(RequestHandler):
    """The emulator's handler, adopting files other processes wrote before each request.

    It adopts once the request has arrived (in ``parse_request``), not when the handler starts
    waiting for it: on a kept-alive connection that wait can begin before another process has
    written the file the request then asks for.
    """

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        host, port = self.server.server_address[:2]
        adopt_files(self.storage, f"http://{host!s}:{port}")
        return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bqemulator exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"bqemulator did not answer {url} in 90 s:\n{log.read_text()}")


def _bqemulator() -> tuple[str, str]:
    tools = tools_dir()
    command = os.environ.get(
        "CONVEYOR_TEST_BQEMULATOR", str(tools / "venv-bqemulator" / "bin" / "bqemulator")
    )
    home = os.environ.get("CONVEYOR_TEST_BQEMULATOR_HOME", str(tools / "venv-bqemulator" / "home"))
    if not Path(command).exists():
        pytest.fail(f"{command} is missing: run scripts/test, whose ensure_bqemulator installs it")
    return command, home


@pytest.fixture(scope="module")
def gcp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcpEmulators]:
    """Both emulators, started for the module's tests and stopped after them."""
    folder = tmp_path_factory.mktemp("gcp")
    storage = Storage(use_memory_fs=False, data_dir=str(folder))
    httpd = server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(AdoptingHandler, storage)
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    storage_host = f"http://127.0.0.1:{httpd.server_address[1]}"
    shared_root = folder / gcs_settings.STORAGE_DIR

    command, home = _bqemulator()
    rest_port = _free_port()
    log = folder / "bqemulator.log"
    env = {
        "HOME": home,
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BQEMU_REST_HOST": "127.0.0.1",
        "BQEMU_REST_PORT": str(rest_port),
        "BQEMU_GRPC_HOST": "127.0.0.1",
        "BQEMU_GRPC_PORT": str(_free_port()),
        "BQEMU_DEFAULT_PROJECT_ID": PROJECT,
        "BQEMU_GCS_LOCAL_ROOT": str(shared_root),
    }
    with log.open("wb") as out:
        # In memory (no --data-dir), from the temp folder: no .bqemu.toml of the checkout is read.
        process = subprocess.Popen(
            [command, "start", "--ephemeral"], env=env, cwd=folder, stdout=out, stderr=out
        )
    try:
        bigquery_host = f"http://127.0.0.1:{rest_port}"
        _wait_http(f"{bigquery_host}/bigquery/v2/projects/{PROJECT}/datasets", process, log)
        yield GcpEmulators(storage_host, bigquery_host, shared_root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        httpd.shutdown()
        httpd.server_close()
        shutil.rmtree(folder, ignore_errors=True)


def gcp_uri(**extra: Any) -> str:
    """A ``google_cloud_platform`` connection URI as Airflow users write it."""
    from urllib.parse import urlencode

    query = urlencode({"project": PROJECT, **{k: str(v) for k, v in extra.items()}})
    return f"google-cloud-platform://?{query}"
