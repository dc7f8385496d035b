"""DAG files in Airflow's spelling that use the amazon provider's S3 hook, sensor and
operators, run to their end with ``conveyor run`` against moto's S3 server; each test then
reads what the bucket holds. Connections come from ``AIRFLOW_CONN_<ID>`` (a URI, or the
JSON form) as an Airflow deployment would set them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import s3_server
from moto.core.authorization import enable_iam_authentication
from s3_server import ISOLATED, SECRET_ACCESS_KEY, aws_uri, bucket_contents, bucket_name
from sql_servers import ended, run_dag_file

# The server's fixture, used by name below.
s3_endpoint = s3_server.s3_endpoint

# A DAG run in a process of its own: slower than the default per-test limit on a busy machine.
pytestmark = pytest.mark.timeout(300)

HOOK_DAG = '''
"""Write, read, list, copy and delete objects with the S3 hook; record what it returned."""
import json
import os
import tempfile
from datetime import datetime

import boto3
from airflow import DAG
from airflow.contrib.hooks.aws_hook import AwsHook
from airflow.hooks.S3_hook import S3Hook as S3Hook110
from airflow.operators.python import PythonOperator
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from botocore.exceptions import ClientError

BUCKET = "@BUCKET@"


def write():
    hook = S3Hook(aws_conn_id="lake")
    hook.create_bucket(bucket_name=BUCKET)
    hook.load_string("a,b\\n1,2\\n", key="raw/one.csv", bucket_name=BUCKET)
    hook.load_bytes(b"\\x00\\x01", key=f"s3://{BUCKET}/raw/two.bin")  # the bucket from the URL
    try:
        hook.load_string("again", "raw/one.csv", BUCKET)
        raise AssertionError("an existing key was overwritten without replace=True")
    except ValueError as exc:
        assert str(exc) == "The key raw/one.csv already exists.", exc
    hook.load_string("a,b\\n3,4\\n", "raw/one.csv", BUCKET, replace=True, encrypt=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as local:
        local.write("from disk\\n")
        local.flush()
        hook.load_file(local.name, "raw/sub/disk.txt", BUCKET)
        hook.load_file(local.name, "raw/sub/disk.txt.gz", BUCKET, gzip=True)
    # The JSON-form connection names the bucket in service_config: no bucket_name needed.
    S3Hook110("lake_json").load_string("defaulted", "by-default.txt")
    hook.copy_object("raw/one.csv", "copied/one.csv", BUCKET, BUCKET)
    hook.load_string("gone soon", "tmp/x.txt", BUCKET)
    hook.load_string("gone soon", "tmp/y.txt", BUCKET)
    hook.delete_objects(BUCKET, ["tmp/x.txt", "tmp/y.txt"])


def read():
    hook = S3Hook(aws_conn_id="lake")
    got = {}
    got["read_key"] = hook.read_key("raw/one.csv", BUCKET)
    got["read_url"] = hook.read_key(f"s3://{BUCKET}/raw/one.csv", bucket_name=None)
    obj = hook.get_key("raw/two.bin", BUCKET)
    got["get_key"] = [type(obj).__name__, obj.bucket_name, obj.key, obj.content_length,
                      obj.get()["Body"].read().hex()]
    got["encrypted"] = hook.get_key("raw/one.csv", BUCKET).server_side_encryption
    got["list_keys"] = hook.list_keys(BUCKET, prefix="raw/")
    got["list_keys_delimited"] = hook.list_keys(bucket_name=BUCKET, prefix="raw/", delimiter="/")
    got["list_prefixes"] = hook.list_prefixes(BUCKET, prefix="", delimiter="/")
    got["check_for_key"] = [hook.check_for_key("raw/one.csv", BUCKET),
                            hook.check_for_key(f"s3://{BUCKET}/nope.csv")]
    got["check_for_bucket"] = [hook.check_for_bucket(BUCKET),
                               hook.check_for_bucket(BUCKET + "-missing")]
    got["check_for_wildcard_key"] = hook.check_for_wildcard_key("raw/*.csv", BUCKET)
    got["parse_s3_url"] = list(S3Hook.parse_s3_url("s3://some-bucket/a/b.csv"))
    path = hook.download_file("raw/sub/disk.txt", BUCKET, local_path=tempfile.gettempdir())
    with open(path) as downloaded:
        got["download_file"] = [isinstance(path, str), downloaded.read()]
    os.remove(path)
    try:
        hook.read_key("no/such.key", BUCKET)
        got["missing"] = "read"
    except ClientError as exc:  # a request's error stays botocore's, as in Airflow
        got["missing"] = exc.response["Error"]["Code"]
    client = hook.get_conn()
    got["client"] = [type(client).__name__, client.meta.service_model.service_name]
    base = AwsBaseHook(aws_conn_id="lake", client_type="s3")
    got["base_session"] = isinstance(base.get_session(), boto3.session.Session)
    names = [b["Name"] for b in base.get_conn().list_buckets()["Buckets"]]
    got["base_buckets"] = BUCKET in names
    old = AwsHook("lake").get_client_type("s3")  # Airflow 1.10 named the service first
    got["aws_hook"] = old.head_object(Bucket=BUCKET, Key="copied/one.csv")["ContentLength"]
    hook.load_string(json.dumps(got, sort_keys=True), "results/hook.json", BUCKET)


with DAG("s3_hook", start_date=datetime(2024, 1, 1), schedule_interval=None) as dag:
    PythonOperator(task_id="write", python_callable=write) >> PythonOperator(
        task_id="read", python_callable=read
    )
'''


def _connections(endpoint: str, bucket: str) -> dict[str, str]:
    as_json = json.dumps(
        {
            "conn_type": "aws",
            "extra": {
                "aws_access_key_id": s3_server.ACCESS_KEY_ID,
                "aws_secret_access_key": SECRET_ACCESS_KEY,
                "region_name": s3_server.REGION,
                "service_config": {"s3": {"endpoint_url": endpoint, "bucket_name": bucket}},
            },
        }
    )
    return {
        **ISOLATED,
        "AIRFLOW_CONN_LAKE": aws_uri(endpoint),
        "AIRFLOW_CONN_LAKE_JSON": as_json,
    }


def _run_in_bucket(tmp_path: Path, name: str, source: str, s3_endpoint: str, bucket: str) -> None:
    """Runs a DAG file (``@BUCKET@`` made ``bucket``, ``@TMP@`` made ``tmp_path``) with the
    test server's connections, and asserts that it succeeded."""
    source = source.replace("@BUCKET@", bucket).replace("@TMP@", str(tmp_path))
    done = run_dag_file(tmp_path, name, source, _connections(s3_endpoint, bucket))
    ended(done, tmp_path, 0)


def test_an_s3_hook_dag_runs_to_success(tmp_path: Path, s3_endpoint: str) -> None:
    bucket = bucket_name()
    _run_in_bucket(tmp_path, "s3_hook.py", HOOK_DAG, s3_endpoint, bucket)
    contents = bucket_contents(s3_endpoint, bucket)
    got = json.loads(contents.pop("results/hook.json"))
    assert contents["raw/one.csv"] == contents["copied/one.csv"] == b"a,b\n3,4\n"
    assert contents["raw/two.bin"] == b"\x00\x01"
    assert contents["raw/sub/disk.txt"] == b"from disk\n"
    assert __import__("gzip").decompress(contents["raw/sub/disk.txt.gz"]) == b"from disk\n"
    assert contents["by-default.txt"] == b"defaulted"
    assert not any(k.startswith("tmp/") for k in contents)
    assert got == {
        "read_key": "a,b\n3,4\n",
        "read_url": "a,b\n3,4\n",
        "get_key": ["s3.Object", bucket, "raw/two.bin", 2, "0001"],
        "encrypted": "AES256",
        "list_keys": ["raw/one.csv", "raw/sub/disk.txt", "raw/sub/disk.txt.gz", "raw/two.bin"],
        "list_keys_delimited": ["raw/one.csv", "raw/two.bin"],
        "list_prefixes": ["copied/", "raw/"],
        "check_for_key": [True, False],
        "check_for_bucket": [True, False],
        "check_for_wildcard_key": True,
        "parse_s3_url": ["some-bucket", "a/b.csv"],
        "download_file": [True, "from disk\n"],
        "missing": "404",
        "client": ["S3", "s3"],
        "base_session": True,
        "base_buckets": True,
        "aws_hook": 8,
    }


BAD_DAG = """
from datetime import datetime

from airflow import DAG
from botocore.exceptions import ClientError
from airflow.operators.python import PythonOperator
from airflow.providers.amazon.aws.hooks.s3 import S3Hook


def unreachable():
    S3Hook(aws_conn_id="aws_down").read_key("a/b.txt", "some-bucket")


def refused():
    hook = S3Hook(aws_conn_id="aws_refused")
    try:
        hook.check_for_key("a/b.txt", "some-bucket")
    except ClientError as exc:  # still botocore's error, which code written for Airflow catches
        print("caught", exc.response["Error"]["Code"], flush=True)
    hook.get_conn().get_object(Bucket="some-bucket", Key="a/b.txt")


def client_unreachable():
    S3Hook(aws_conn_id="aws_down").get_conn().list_buckets()


def no_bucket():
    S3Hook(aws_conn_id="lake").load_string("x", "only/a/key.txt")


with DAG("bad_aws", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    PythonOperator(task_id="unreachable", python_callable=unreachable)
    PythonOperator(task_id="client_unreachable", python_callable=client_unreachable)
    PythonOperator(task_id="refused", python_callable=refused)
    PythonOperator(task_id="no_bucket", python_callable=no_bucket)
"""


def test_a_bad_connection_fails_naming_it_never_the_secret_key(
    tmp_path: Path, s3_endpoint: str
) -> None:
    secret = "Wr0ng-Secret-Access-Key-42"
    # Port 1 of the loopback: nothing listens there. One attempt: botocore retries otherwise.
    down = aws_uri(
        "http://127.0.0.1:1",
        secret=secret,
        __extra__=json.dumps({"config_kwargs": {"retries": {"max_attempts": 1}}}),
    )
    connections = {
        **ISOLATED,
        "AIRFLOW_CONN_AWS_DOWN": down,
        "AIRFLOW_CONN_AWS_REFUSED": aws_uri(s3_endpoint, secret=secret),
        "AIRFLOW_CONN_LAKE": aws_uri(s3_endpoint),
    }
    # The server checks credentials for this test only: it knows no access key, so it
    # refuses every one, as AWS refuses a key that is not there.
    with enable_iam_authentication():
        done = run_dag_file(tmp_path, "bad_aws.py", BAD_DAG, connections)
    output, logs = ended(done, tmp_path, 1)
    assert secret not in output and secret not in logs
    named = "Amazon Web Services connection 'aws_down' (http://127.0.0.1:1"
    for task_id in ("unreachable", "client_unreachable"):  # the hook's method, its client's
        log = "".join(p.read_text() for p in (tmp_path / "home").rglob(f"{task_id}/try-*.log"))
        assert named in log, task_id
    assert "could not be used" in output and s3_server.ACCESS_KEY_ID in output
    assert "no bucket for key 'only/a/key.txt'" in output
    refused_log = "".join(p.read_text() for p in (tmp_path / "home").rglob("refused/try-*.log"))
    assert "caught 403" in refused_log
    assert "Amazon Web Services connection 'aws_refused' (http://127.0.0.1:" in refused_log
    assert "(InvalidAccessKeyId) when calling the GetObject operation" in refused_log
    for task_id in ("unreachable", "client_unreachable", "refused", "no_bucket"):
        assert f"{task_id} failed on try 1" in output, task_id


SENSOR_DAG = '''
"""S3KeySensor in both modes: each pokes before its keys are there, and once more after."""
import os
import time
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator, get_current_context
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.sensors.s3_key_sensor import S3KeySensor as S3KeySensor110

BUCKET = "@BUCKET@"


def checked(name):
    """A check_fn that leaves a mark for each call: done once every file has content."""
    def check_fn(files, **context):
        with open(f"@TMP@/{name}", "a") as marks:
            sizes = ",".join(str(f["Size"]) for f in files)
            marks.write(f"{context['ti'].try_number} {sizes}\\n")
        return all(f["Size"] > 0 for f in files)
    return check_fn


def plain_check(files):
    return [f["Key"] for f in files] == ["incoming/a.csv"]


def saw_empty(name):
    if not os.path.exists(f"@TMP@/{name}"):
        return False
    with open(f"@TMP@/{name}") as marks:
        return any("0" in line.split()[1].split(",") for line in marks)


def arrive():
    hook = S3Hook(aws_conn_id="lake")
    # b.csv first, empty: no sensor is done while it is. It gets its content only once both
    # sensors have seen it empty.
    hook.load_string("", "incoming/b.csv", BUCKET)
    hook.load_string("1", "incoming/a.csv", BUCKET)
    deadline = time.monotonic() + 60
    while not (saw_empty("poke") and saw_empty("reschedule")):
        assert time.monotonic() < deadline, "the sensors never saw the files"
        time.sleep(0.1)
    hook.load_string("2", "incoming/b.csv", BUCKET, replace=True)


def record():
    get_current_context()  # the sensors are done: leave a mark in the bucket
    S3Hook(aws_conn_id="lake").load_string("seen", "results/sensed.txt", BUCKET)


with DAG("s3_sensors", start_date=datetime(2024, 1, 1), schedule=None,
         params={"bucket": BUCKET}) as dag:
    create = PythonOperator(
        task_id="create", python_callable=lambda: S3Hook("lake").create_bucket(BUCKET)
    )
    wait_poke = S3KeySensor(
        task_id="wait_poke", aws_conn_id="lake", poke_interval=0.2, timeout=60,
        bucket_key=["s3://{{ params.bucket }}/incoming/a.csv",
                    "s3://{{ params.bucket }}/incoming/b.csv"],
        check_fn=checked("poke"),
    )
    wait_reschedule = S3KeySensor110(
        task_id="wait_reschedule", aws_conn_id="lake", mode="reschedule", poke_interval=0.3,
        timeout=60, bucket_name=BUCKET, bucket_key="incoming/*.csv", wildcard_match=True,
        check_fn=checked("reschedule"),
    )
    wait_plain = S3KeySensor(
        task_id="wait_plain", aws_conn_id="lake", poke_interval=0.2, timeout=60,
        bucket_name=BUCKET, bucket_key="incoming/a.csv", check_fn=plain_check,
    )
    arrive_later = PythonOperator(task_id="arrive", python_callable=arrive)
    done = PythonOperator(task_id="record", python_callable=record)
    create >> [wait_poke, wait_reschedule, wait_plain, arrive_later]
    [wait_poke, wait_reschedule, wait_plain] >> done
'''


def test_s3_key_sensors_wait_in_both_modes(tmp_path: Path, s3_endpoint: str) -> None:
    bucket = bucket_name()
    _run_in_bucket(tmp_path, "s3_sensors.py", SENSOR_DAG, s3_endpoint, bucket)
    assert bucket_contents(s3_endpoint, bucket)["results/sensed.txt"] == b"seen"
    # In poke mode every poke is in one process; in reschedule mode each poke is a process of
    # its own, all of the same try (as on Airflow, a reschedule keeps the try number).
    # The list's keys are checked one by one (check_fn sees one file at a time), the
    # pattern's together.
    poke = [line.split() for line in (tmp_path / "poke").read_text().splitlines()]
    assert ["0"] in [sizes.split(",") for _, sizes in poke] and poke[-2:] == [poke[0]] * 2
    assert poke[0] == ["1", "1"] and len({t for t, _ in poke}) == 1
    rescheduled = [line.split() for line in (tmp_path / "reschedule").read_text().splitlines()]
    assert "0" in rescheduled[0][1].split(",") and rescheduled[-1][1] == "1,1"
    assert {t for t, _ in rescheduled} == {"1"} and len(rescheduled) >= 2


OPERATORS_DAG = '''
"""A bucket's life with the S3 operators: create, fill, copy, list, delete."""
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.s3 import (
    S3CopyObjectOperator,
    S3CreateBucketOperator,
    S3CreateObjectOperator,
    S3DeleteObjectsOperator,
)
from airflow.providers.amazon.aws.transfers.local_to_s3 import LocalFilesystemToS3Operator

# The provider's module names before 4.0, and Airflow 1.10's.
from airflow.contrib.operators.s3_list_operator import S3ListOperator as S3ListOperator110
from airflow.providers.amazon.aws.operators.s3_bucket import (
    S3DeleteBucketOperator as S3DeleteBucketOperatorOld,
)

BUCKET = "@BUCKET@"
SCRATCH = BUCKET + "-scratch"


def record(ti):
    listed = ti.xcom_pull(task_ids="list_incoming")
    hook = S3Hook(aws_conn_id="lake")
    assert not hook.check_for_bucket(SCRATCH)
    hook.load_string(",".join(listed), "results/listed.txt", BUCKET)


with DAG("s3_operators", start_date=datetime(2024, 1, 1), schedule=None, catchup=False) as dag:
    create = S3CreateBucketOperator(task_id="create", bucket_name=BUCKET, aws_conn_id="lake")
    create_again = S3CreateBucketOperator(  # exists already: nothing to do
        task_id="create_again", bucket_name=BUCKET, aws_conn_id="lake"
    )
    hello = S3CreateObjectOperator(
        task_id="hello", aws_conn_id="lake", s3_bucket=BUCKET,
        s3_key="daily/{{ ds }}/hello.txt", data="hello {{ dag.dag_id }}",
    )
    raw = S3CreateObjectOperator(
        task_id="raw", aws_conn_id="lake", s3_key=f"s3://{BUCKET}/incoming/raw.bin",
        data=b"\\x00\\xff", replace=True,
    )
    local = LocalFilesystemToS3Operator(
        task_id="local", aws_conn_id="lake", filename="@TMP@/local.csv",
        dest_key="incoming/local.csv", dest_bucket=BUCKET,
    )
    copy = S3CopyObjectOperator(
        task_id="copy", aws_conn_id="lake", source_bucket_name=BUCKET,
        source_bucket_key="incoming/local.csv", dest_bucket_key=f"s3://{BUCKET}/kept/local.csv",
    )
    list_incoming = S3ListOperator110(
        task_id="list_incoming", aws_conn_id="lake", bucket=BUCKET, prefix="incoming/",
        delimiter="/",
    )
    delete_one = S3DeleteObjectsOperator(
        task_id="delete_one", aws_conn_id="lake", bucket=BUCKET, keys="incoming/raw.bin",
    )
    delete_rest = S3DeleteObjectsOperator(
        task_id="delete_rest", aws_conn_id="lake", bucket=BUCKET, prefix="incoming/",
    )
    scratch = S3CreateBucketOperator(
        task_id="scratch", bucket_name=SCRATCH, aws_conn_id="lake", region_name="eu-west-1"
    )
    fill_scratch = S3CreateObjectOperator(
        task_id="fill_scratch", aws_conn_id="lake", s3_bucket=SCRATCH, s3_key="x", data="x"
    )
    drop_scratch = S3DeleteBucketOperatorOld(
        task_id="drop_scratch", bucket_name=SCRATCH, force_delete=True, aws_conn_id="lake"
    )
    check = PythonOperator(task_id="record", python_callable=record)

    create >> create_again >> [hello, raw, local, scratch]
    local >> copy
    [hello, raw, copy] >> list_incoming >> delete_one >> delete_rest
    scratch >> fill_scratch >> drop_scratch
    [delete_rest, drop_scratch] >> check
'''


def test_an_s3_operators_dag_runs_to_success(tmp_path: Path, s3_endpoint: str) -> None:
    bucket = bucket_name()
    (tmp_path / "local.csv").write_text("id\n1\n")
    _run_in_bucket(tmp_path, "s3_operators.py", OPERATORS_DAG, s3_endpoint, bucket)
    contents = bucket_contents(s3_endpoint, bucket)
    # The list is the XCom: the keys directly under incoming/, not those of its folders.
    assert contents.pop("results/listed.txt") == b"incoming/local.csv,incoming/raw.bin"
    daily = [k for k in contents if k.startswith("daily/")]
    assert len(daily) == 1 and daily[0].endswith("/hello.txt") and daily[0][6:8] == "20"
    assert contents.pop(daily[0]) == b"hello s3_operators"  # key and data were templated
    assert contents == {"kept/local.csv": b"id\n1\n"}
    buckets = [b["Name"] for b in s3_server.client(s3_endpoint).list_buckets()["Buckets"]]
    assert bucket in buckets and f"{bucket}-scratch" not in buckets


def test_conveyor_dags_validate_finds_nothing_to_change_in_these_files() -> None:
    from conveyor.airflow_compat.lint import check_source

    for source in (HOOK_DAG, BAD_DAG, SENSOR_DAG, OPERATORS_DAG):
        assert check_source(source) == []
