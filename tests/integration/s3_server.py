"""A real S3-compatible server for the amazon provider's tests: moto's, in a thread of the
test process on a private loopback port, reached over HTTP by the ``conveyor`` processes
the tests start. Each test gets a bucket name of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from moto.server import ThreadedMotoServer

ACCESS_KEY_ID = "AKIACONVEYORTEST"
SECRET_ACCESS_KEY = "conveyor-s3-Secret-Key-7d1e"
REGION = "us-east-1"
#: No AWS settings of the machine reach a DAG run: no profile, no instance metadata.
ISOLATED = {
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server, started for the module's tests and stopped after them."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def bucket_name() -> str:
    """A bucket name no other test uses."""
    return f"conveyor-{uuid.uuid4().hex[:12]}"


def client(endpoint: str) -> Any:
    """A boto3 S3 client of the test itself, to look into the buckets."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


def bucket_contents(endpoint: str, bucket: str) -> dict[str, bytes]:
    """Every key of ``bucket`` and its bytes."""
    s3 = client(endpoint)
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def aws_uri(endpoint: str, secret: str = SECRET_ACCESS_KEY, **extra: str) -> str:
    """An ``aws://`` connection URI as Airflow users write it (extras as query parameters)."""
    query = "&".join(
        f"{k}={quote(v, safe='')}"
        for k, v in {"region_name": REGION, "endpoint_url": endpoint, **extra}.items()
    )
    return f"aws://{ACCESS_KEY_ID}:{quote(secret, safe='')}@/?{query}"
