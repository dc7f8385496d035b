"""``ObjectStoragePath`` in a DAG file in Airflow's spelling, run with ``conveyor run``:
written to and read from moto's S3 (through an ``aws`` connection with ``endpoint_url`` in
its extra) and local files, copied and moved between the two; the test then reads the bucket
and the folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import s3_server
from s3_server import ISOLATED, aws_uri, bucket_contents, bucket_name
from sql_servers import ended, run_dag_file

s3_endpoint = s3_server.s3_endpoint

pytestmark = pytest.mark.timeout(300)

DAG_SOURCE = """
import json
from datetime import datetime

from airflow.decorators import dag, task
from airflow.io.path import ObjectStoragePath
from airflow.sdk import ObjectStoragePath as SdkPath

base = ObjectStoragePath("s3://@BUCKET@/", conn_id="aws_default")
local = SdkPath("file://@TMP@/out")


@dag(start_date=datetime(2024, 1, 1), schedule=None)
def object_storage():
    @task
    def write():
        base.mkdir(exist_ok=True)  # the bucket
        path = base / "raw" / "data.csv"
        with path.open("w") as f:
            f.write("a,b\\n1,2\\n")
        (base / "raw" / "more.csv").write_text("c\\n")
        (base / "raw" / "note.txt").write_bytes(b"n")
        return str(path)

    @task
    def read(path_text):
        path = ObjectStoragePath(path_text, conn_id="aws_default")
        got = {
            "text": path.read_text(),
            "key": path.key,
            "bucket": path.bucket,
            "size": path.stat().st_size,
            "exists": [path.exists(), (base / "raw" / "nope.csv").exists()],
            "names": sorted(p.name for p in (base / "raw").iterdir()),
            "glob": sorted(p.key for p in base.glob("raw/*.csv")),
        }
        local.mkdir(parents=True, exist_ok=True)
        path.copy(local)
        got["local"] = (local / "data.csv").read_text()
        (local / "data.csv").move(base / "copied" / "data.csv")
        got["moved_away"] = (local / "data.csv").exists()
        (base / "raw" / "more.csv").unlink()
        (local / "result.json").write_text(json.dumps(got))

    read(write())


object_storage()
"""


def test_a_dag_writes_reads_copies_and_moves_through_object_storage_paths(
    tmp_path: Path, s3_endpoint: str
) -> None:
    bucket = bucket_name()
    source = DAG_SOURCE.replace("@BUCKET@", bucket).replace("@TMP@", str(tmp_path))
    env = {**ISOLATED, "AIRFLOW_CONN_AWS_DEFAULT": aws_uri(s3_endpoint)}
    ended(run_dag_file(tmp_path, "object_storage.py", source, env), tmp_path, 0)
    got = json.loads((tmp_path / "out" / "result.json").read_text())
    assert got == {
        "text": "a,b\n1,2\n",
        "key": "raw/data.csv",
        "bucket": bucket,
        "size": 8,
        "exists": [True, False],
        "names": ["data.csv", "more.csv", "note.txt"],
        "glob": ["raw/data.csv", "raw/more.csv"],
        "local": "a,b\n1,2\n",
        "moved_away": False,
    }
    assert bucket_contents(s3_endpoint, bucket) == {
        "raw/data.csv": b"a,b\n1,2\n",
        "raw/note.txt": b"n",
        "copied/data.csv": b"a,b\n1,2\n",
    }
