"""``s3://`` paths of ``ObjectStoragePath``: s3fs (fsspec's S3 filesystem, the one Airflow
uses) on an ``aws`` connection's keys, region and ``endpoint_url``."""

from __future__ import annotations

from typing import Any

from conveyor.providers._extras import load
from conveyor.providers.amazon.base_aws import AwsBaseHook


def s3_filesystem(conn_id: str | None, storage_options: dict[str, Any]) -> Any:
    """An ``s3fs.S3FileSystem`` on connection ``conn_id`` (None: boto3's own chain)."""
    s3fs = load("s3fs", "amazon", "ObjectStoragePath on s3://")
    settings = AwsBaseHook(aws_conn_id=conn_id, client_type="s3").conn_config
    options: dict[str, Any] = {}
    if settings.access_key_id:
        options.update(key=settings.access_key_id, secret=settings.secret_access_key)
    if settings.session_token:
        options["token"] = settings.session_token
    endpoint = settings.endpoint_for("s3")
    if endpoint:
        options["endpoint_url"] = endpoint
    client_kwargs: dict[str, Any] = {}
    # S3 without a region is us-east-1; s3fs would send that region as the bucket's
    # LocationConstraint on mkdir, which S3 refuses for us-east-1.
    if settings.region_name and settings.region_name != "us-east-1":
        client_kwargs["region_name"] = settings.region_name
    if settings.verify is not None:
        client_kwargs["verify"] = settings.verify
    if client_kwargs:
        options["client_kwargs"] = client_kwargs
    options.update(storage_options)
    # A fresh instance: s3fs caches by arguments, and a forked task must not share its loop.
    return s3fs.S3FileSystem(skip_instance_cache=True, **options)
