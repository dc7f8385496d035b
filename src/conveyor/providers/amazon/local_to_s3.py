"""Airflow's ``LocalFilesystemToS3Operator``: upload a file of the worker's disk to S3."""

from __future__ import annotations

from typing import Any, ClassVar

from conveyor.model.task import BaseOperator
from conveyor.providers._fields import keep_fields
from conveyor.providers.amazon.s3 import S3Hook
from conveyor.providers.openlineage.datasets import local_file, s3_object
from conveyor.providers.openlineage.operator_lineage import OperatorLineage


class LocalFilesystemToS3Operator(BaseOperator):
    """Upload ``filename`` to ``dest_key`` (relative to ``dest_bucket``, or a full ``s3://``
    URL); an existing key is an error unless ``replace``."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "filename",
        "dest_key",
        "dest_bucket",
        "aws_conn_id",
    )
    ui_color = "#ff9900"

    filename: str
    dest_key: str
    dest_bucket: str | None
    aws_conn_id: str | None
    verify: str | bool | None
    replace: bool
    encrypt: bool
    gzip: bool
    acl_policy: str | None

    def __init__(
        self,
        task_id: str,
        *,
        filename: str,
        dest_key: str,
        dest_bucket: str | None = None,
        aws_conn_id: str | None = "aws_default",
        verify: str | bool | None = None,
        replace: bool = False,
        encrypt: bool = False,
        gzip: bool = False,
        acl_policy: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, LocalFilesystemToS3Operator, locals())

    def execute(self, context: dict[str, Any]) -> None:
        hook = S3Hook(aws_conn_id=self.aws_conn_id, verify=self.verify)
        bucket, key = hook.get_s3_bucket_key(
            self.dest_bucket, self.dest_key, "dest_bucket", "dest_key"
        )
        hook.load_file(
            self.filename,
            key,
            bucket,
            self.replace,
            self.encrypt,
            self.gzip,
            self.acl_policy,
        )

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        """The local file read, the object written."""
        bucket, key = S3Hook.get_s3_bucket_key(
            self.dest_bucket, self.dest_key, "dest_bucket", "dest_key"
        )
        return OperatorLineage(inputs=[local_file(self.filename)], outputs=[s3_object(bucket, key)])
