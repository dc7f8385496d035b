"""Task logs copied to an S3-compatible bucket and read back from it on a machine without them.

The bucket is a real S3-compatible server (moto's, in a thread of this test process) reached
over HTTP by real `conveyor` processes with the usual AWS_* credentials.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer
from ops_helpers import CONVEYOR, clean_env, conveyor, wait_until
from sqlalchemy import select

from conftest import make_settings
from conveyor.config import Settings, load_config
from conveyor.logs import (
    delete_try_logs,
    open_try_log,
    read_try_log,
    remote_key,
    upload_try_log,
)
from conveyor.logs.task_logs import RemoteLogs
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run
from conveyor.web import accounts
from conveyor.web.app import create_app
from conveyor.web.queries import LOG_READ_CAP, _tail_start

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "conveyor-test",
    "AWS_SECRET_ACCESS_KEY": "conveyor-test-secret",
    "AWS_REGION": "us-east-1",
}

DAG = """
from conveyor import DAG, task

with DAG("talkative"):
    @task
    def speak():
        print("a line only the log has", flush=True)
        return 1

    speak()
"""


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket_url(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new bucket; this process gets the credentials in its environment too."""
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    name = f"logs-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_endpoint, **_boto_credentials()).create_bucket(Bucket=name)
    return f"s3://{name}/conveyor"


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_REGION"],
    }


def _keys(s3_endpoint: str, bucket_url: str) -> list[str]:
    bucket = bucket_url.removeprefix("s3://").split("/", 1)[0]
    listed = boto3.client("s3", endpoint_url=s3_endpoint, **_boto_credentials()).list_objects_v2(
        Bucket=bucket
    )
    return sorted(item["Key"] for item in listed.get("Contents", []))


def _run_states(store: Store) -> list[str]:
    with store.read() as conn:
        return list(conn.execute(select(dag_run.c.state)).scalars())


def test_remote_key_is_the_layout_tail() -> None:
    path = "/var/lib/conveyor/logs/etl/manual__2024-01-01T00_00_00/load/try-2.log"
    assert remote_key(path) == "etl/manual__2024-01-01T00_00_00/load/try-2.log"
    mapped = "/var/lib/conveyor/logs/etl/manual__2024-01-01T00_00_00/load/map_index=3/try-1.log"
    assert remote_key(mapped) == "etl/manual__2024-01-01T00_00_00/load/map_index=3/try-1.log"


def _remote_settings(tmp_path: Path, s3_endpoint: str, bucket_url: str) -> tuple[Settings, Path]:
    """Settings that keep the logs in the test bucket too, and the path of a try's log (its
    folder made, the file not written)."""
    settings = make_settings(
        tmp_path,
        tmp_path / "dags",
        f"sqlite:///{tmp_path / 'c.db'}",
        remote_logs_url=bucket_url,
        remote_logs_endpoint_url=s3_endpoint,
    )
    log = settings.logs_path / "d" / "r" / "t" / "try-1.log"
    log.parent.mkdir(parents=True)
    return settings, log


def test_upload_read_and_delete(tmp_path: Path, s3_endpoint: str, bucket_url: str) -> None:
    settings, log = _remote_settings(tmp_path, s3_endpoint, bucket_url)
    log.write_text("first line\nsecond line\n")

    assert upload_try_log(settings, log) is True
    assert _keys(s3_endpoint, bucket_url) == ["conveyor/d/r/t/try-1.log"]

    log.unlink()  # another machine: no local file, the remote copy answers
    assert read_try_log(settings, str(log)) == b"first line\nsecond line\n"
    assert read_try_log(settings, str(log.with_name("try-9.log"))) is None
    handle = open_try_log(settings, str(log))
    assert handle is not None
    with handle:  # what a reader paging by offset gets
        assert handle.seek(0, 2) == len(b"first line\nsecond line\n")
        handle.seek(11)
        assert handle.read() == b"second line\n"

    log.write_text("again\n")
    assert delete_try_logs(settings, [str(log)]) == (1, 1)
    assert _keys(s3_endpoint, bucket_url) == []
    assert not (settings.logs_path / "d").exists()  # empty folders go too
    assert read_try_log(settings, str(log)) is None


def test_a_remote_log_tail_fetches_only_what_it_returns(
    tmp_path: Path, s3_endpoint: str, bucket_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, log = _remote_settings(tmp_path, s3_endpoint, bucket_url)
    log.write_bytes(b"BEGIN" + b"x" * (6 << 20) + b"END\n")  # one 6 MB line
    assert upload_try_log(settings, log) is True
    log.unlink()
    fetched: list[int] = []
    read_range = RemoteLogs.read_range

    def counted(self: RemoteLogs, key: str, start: int, length: int) -> bytes:
        data = read_range(self, key, start, length)
        fetched.append(len(data))
        return data

    monkeypatch.setattr(RemoteLogs, "read_range", counted)

    handle = open_try_log(settings, str(log))
    assert handle is not None
    with handle:
        size = handle.seek(0, 2)
        start, truncated = _tail_start(handle, size, 10, LOG_READ_CAP)
        handle.seek(start)
        data = handle.read(size - start)

    assert size == (6 << 20) + 9
    assert truncated and len(data) == LOG_READ_CAP and data.endswith(b"xEND\n")
    assert sum(fetched) <= 3 * LOG_READ_CAP  # the tail's blocks and the answer, not 6 MB


def test_unreachable_bucket_never_fails_the_upload_call(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        tmp_path / "dags",
        f"sqlite:///{tmp_path / 'c.db'}",
        remote_logs_url="s3://nowhere-bucket/x",
        remote_logs_endpoint_url="http://127.0.0.1:9",
    )
    log = tmp_path / "d" / "r" / "t" / "try-1.log"
    log.parent.mkdir(parents=True)
    log.write_text("kept locally\n")
    assert upload_try_log(settings, log) is False
    assert read_try_log(settings, str(log)) == b"kept locally\n"


def test_a_try_log_is_uploaded_and_shown_where_the_file_is_missing(
    tmp_path: Path, s3_endpoint: str, bucket_url: str
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "talkative.py").write_text(DAG)
    env = {
        **clean_env(
            tmp_path / "home",
            dags_folder=str(dags),
            remote_logs_url=bucket_url,
            remote_logs_endpoint_url=s3_endpoint,
            scheduler_loop_seconds="0.1",
            dag_scan_seconds="0.2",
        ),
        **CREDENTIALS,
    }

    triggered = conveyor(env, "dags", "trigger", "talkative")
    assert triggered.returncode == 0, triggered.stdout + triggered.stderr
    store = Store(f"sqlite:///{tmp_path / 'home' / 'conveyor.db'}")
    scheduler = subprocess.Popen(
        [CONVEYOR, "scheduler"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until(lambda: _run_states(store) == ["success"], 60, "the run's success")
    finally:
        scheduler.send_signal(signal.SIGTERM)
        scheduler.wait(timeout=30)
        store.dispose()

    keys = _keys(s3_endpoint, bucket_url)
    assert len(keys) == 1 and keys[0].startswith("conveyor/talkative/")
    assert keys[0].endswith("/speak/try-1.log")
    shutil.rmtree(tmp_path / "home" / "logs")  # as on a machine that did not run the try

    shown = conveyor(env, "tasks", "logs", "talkative", "latest", "speak")
    assert shown.returncode == 0, shown.stderr
    assert "a line only the log has" in shown.stdout

    # The web UI's log view reads the same remote copy.
    settings = load_config(env).settings
    web_store = Store(settings.db_url)
    try:
        token = accounts.create_token(web_store, _admin(web_store), "test")
        with TestClient(create_app(settings, web_store)) as client:
            [run_id] = [
                r["run_id"]
                for r in client.get(
                    "/api/v1/dags/talkative/runs", headers={"Authorization": f"Bearer {token}"}
                ).json()["runs"]
            ]
            page = client.get(
                f"/api/v1/dags/talkative/runs/{run_id}/tasks/speak/tries/1/log",
                headers={"Authorization": f"Bearer {token}"},
            )
    finally:
        web_store.dispose()
    assert page.status_code == 200, page.text
    assert "a line only the log has" in page.json()["text"]

    without_remote = {k: v for k, v in env.items() if not k.startswith("CONVEYOR_REMOTE")}
    missing = conveyor(without_remote, "tasks", "logs", "talkative", "latest", "speak")
    assert missing.returncode == 1
    assert "not on this machine" in missing.stderr


def _admin(store: Store) -> str:
    accounts.create_user(store, "admin", "admin")
    return "admin"
