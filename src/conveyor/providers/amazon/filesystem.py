"""``s3://`` paths of ``ObjectStoragePath``: obstore's fsspec filesystem (the S3 client
Conveyor's remote task logs use already) on an ``aws`` connection's keys, region and
``endpoint_url``. Object stores have no folders to make: ``mkdir`` of a bucket that does not
exist creates it through boto3, as Airflow's s3fs does.

obstore rather than s3fs (Airflow's choice): s3fs pins botocore through aiobotocore to a
narrow range that the latest boto3 never matches, and pip then backtracks for minutes (or
fails) installing it beside the ``amazon`` extra's boto3.
"""

from __future__ import annotations

from typing import Any

from conveyor.providers._extras import require
from conveyor.providers.amazon.base_aws import AwsBaseHook

require("obstore", "amazon", "ObjectStoragePath on s3://")
require("fsspec", "amazon", "ObjectStoragePath on s3://")
from obstore.fsspec import FsspecStore  # noqa: E402 - the extra is checked above


class S3FileSystem(FsspecStore):
    """obstore's S3 filesystem whose ``mkdir`` / ``makedirs`` make a missing bucket."""

    def __init__(self, conn_id: str | None, **kwargs: Any) -> None:
        super().__init__("s3", **kwargs)
        self.conn_id = conn_id

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        from conveyor.providers.amazon.s3 import S3Hook

        bucket, _, key = path.strip("/").partition("/")
        hook = S3Hook(aws_conn_id=self.conn_id)
        if not hook.check_for_bucket(bucket):
            hook.create_bucket(bucket_name=bucket)
        elif not key and not exist_ok:
            raise FileExistsError(f"s3://{bucket}")

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        self.makedirs(path, exist_ok=True)


def s3_filesystem(conn_id: str | None, storage_options: dict[str, Any]) -> Any:
    """The S3 filesystem on connection ``conn_id`` (None: the environment's credentials)."""
    settings = AwsBaseHook(aws_conn_id=conn_id, client_type="s3").conn_config
    config: dict[str, Any] = {}
    if settings.access_key_id:
        config.update(
            access_key_id=settings.access_key_id, secret_access_key=settings.secret_access_key
        )
    if settings.session_token:
        config["session_token"] = settings.session_token
    config["region"] = settings.region_name or "us-east-1"
    endpoint = settings.endpoint_for("s3")
    client_options: dict[str, Any] = {}
    if endpoint:
        config["endpoint"] = endpoint
        client_options["allow_http"] = endpoint.startswith("http://")
    if settings.verify is False:
        client_options["allow_invalid_certificates"] = True
    return S3FileSystem(
        conn_id,
        config={**config, **storage_options.pop("config", {})},
        client_options={**client_options, **storage_options.pop("client_options", {})},
        skip_instance_cache=True,
        **storage_options,
    )
