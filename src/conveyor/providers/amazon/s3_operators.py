"""The S3 operators Airflow DAG files use most, each one call of ``S3Hook``.

Every one takes ``aws_conn_id`` (``"aws_default"``; None for boto3's own credentials),
``region_name``, ``verify`` and ``botocore_config``. ``S3ListOperator`` returns the key list,
which becomes its XCom; the others return nothing, as in Airflow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from conveyor.exceptions import DagDefinitionError, TaskError
from conveyor.model.task import BaseOperator
from conveyor.providers._fields import keep_fields
from conveyor.providers.amazon.s3 import S3Hook, S3HookSettings
from conveyor.providers.openlineage.datasets import s3_object
from conveyor.providers.openlineage.operator_lineage import OperatorLineage

#: The template fields every S3 operator has, after its own.
_AWS_FIELDS = ("aws_conn_id", "region_name", "verify")


class S3Operator(S3HookSettings, BaseOperator):
    """What the S3 operators share: the connection and the hook made from it."""

    ui_color = "#ff9900"

    def __init__(
        self,
        task_id: str,
        *,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, S3HookSettings, locals())


class S3CreateBucketOperator(S3Operator):
    """Create ``bucket_name`` (in ``region_name``) unless it exists."""

    template_fields: ClassVar[tuple[str, ...]] = ("bucket_name", *_AWS_FIELDS)

    def __init__(self, task_id: str, *, bucket_name: str, **kwargs: Any) -> None:
        super().__init__(task_id, **kwargs)
        self.bucket_name = bucket_name

    def execute(self, context: dict[str, Any]) -> None:
        hook = self.hook
        if hook.check_for_bucket(self.bucket_name):
            print(f"Bucket with name: {self.bucket_name} already exists", flush=True)
            return
        hook.create_bucket(bucket_name=self.bucket_name, region_name=self.region_name)
        print(f"Created bucket with name: {self.bucket_name}", flush=True)


class S3DeleteBucketOperator(S3Operator):
    """Delete ``bucket_name`` if it exists; ``force_delete`` deletes its objects first."""

    template_fields: ClassVar[tuple[str, ...]] = ("bucket_name", *_AWS_FIELDS)

    def __init__(
        self, task_id: str, *, bucket_name: str, force_delete: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.bucket_name = bucket_name
        self.force_delete = force_delete

    def execute(self, context: dict[str, Any]) -> None:
        hook = self.hook
        if not hook.check_for_bucket(self.bucket_name):
            print(f"Bucket with name: {self.bucket_name} doesn't exist", flush=True)
            return
        hook.delete_bucket(bucket_name=self.bucket_name, force_delete=self.force_delete)
        print(f"Deleted bucket with name: {self.bucket_name}", flush=True)


class S3CreateObjectOperator(S3Operator):
    """Write ``data`` (text or bytes) to ``s3_key`` (relative to ``s3_bucket``, or a full
    ``s3://`` URL)."""

    template_fields: ClassVar[tuple[str, ...]] = ("s3_bucket", "s3_key", "data", *_AWS_FIELDS)

    s3_bucket: str | None
    s3_key: str
    data: str | bytes
    replace: bool
    encrypt: bool
    acl_policy: str | None
    encoding: str | None
    compression: str | None

    def __init__(
        self,
        task_id: str,
        *,
        s3_key: str,
        data: str | bytes,
        s3_bucket: str | None = None,
        replace: bool = False,
        encrypt: bool = False,
        acl_policy: str | None = None,
        encoding: str | None = None,
        compression: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, S3CreateObjectOperator, locals())

    def execute(self, context: dict[str, Any]) -> None:
        hook = self.hook
        bucket, key = hook.get_s3_bucket_key(self.s3_bucket, self.s3_key, "dest_bucket", "dest_key")
        if isinstance(self.data, str):
            hook.load_string(
                self.data,
                key,
                bucket,
                self.replace,
                self.encrypt,
                self.encoding,
                self.acl_policy,
                self.compression,
            )
        else:
            hook.load_bytes(self.data, key, bucket, self.replace, self.encrypt, self.acl_policy)


class S3CopyObjectOperator(S3Operator):
    """Copy one object to another key (keys relative to their bucket, or full URLs)."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "source_bucket_key",
        "dest_bucket_key",
        "source_bucket_name",
        "dest_bucket_name",
        *_AWS_FIELDS,
    )

    source_bucket_key: str
    dest_bucket_key: str
    source_bucket_name: str | None
    dest_bucket_name: str | None
    source_version_id: str | None
    acl_policy: str | None
    meta_data_directive: str | None

    def __init__(
        self,
        task_id: str,
        *,
        source_bucket_key: str,
        dest_bucket_key: str,
        source_bucket_name: str | None = None,
        dest_bucket_name: str | None = None,
        source_version_id: str | None = None,
        acl_policy: str | None = None,
        meta_data_directive: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, S3CopyObjectOperator, locals())

    def execute(self, context: dict[str, Any]) -> None:
        self.hook.copy_object(
            self.source_bucket_key,
            self.dest_bucket_key,
            self.source_bucket_name,
            self.dest_bucket_name,
            self.source_version_id,
            self.acl_policy,
            self.meta_data_directive,
        )

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        """The source object read, the destination object written."""
        source = S3Hook.get_s3_bucket_key(
            self.source_bucket_name,
            self.source_bucket_key,
            "source_bucket_name",
            "source_bucket_key",
        )
        dest = S3Hook.get_s3_bucket_key(
            self.dest_bucket_name, self.dest_bucket_key, "dest_bucket_name", "dest_bucket_key"
        )
        return OperatorLineage(inputs=[s3_object(*source)], outputs=[s3_object(*dest)])


def _as_utc(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


class S3DeleteObjectsOperator(S3Operator):
    """Delete ``keys`` (one or a list) from ``bucket``, or every key under ``prefix``
    (optionally last modified between ``from_datetime`` and ``to_datetime``)."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "keys",
        "bucket",
        "prefix",
        "from_datetime",
        "to_datetime",
        *_AWS_FIELDS,
    )

    bucket: str
    keys: str | list[str] | None
    prefix: str | None
    from_datetime: datetime | str | None
    to_datetime: datetime | str | None

    def __init__(
        self,
        task_id: str,
        *,
        bucket: str,
        keys: str | list[str] | None = None,
        prefix: str | None = None,
        from_datetime: datetime | str | None = None,
        to_datetime: datetime | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, S3DeleteObjectsOperator, locals())
        if not self._one_way():
            raise DagDefinitionError(
                f"task {self.task_id!r}: Either keys or at least one of prefix, "
                "from_datetime, to_datetime should be set."
            )

    def _one_way(self) -> bool:
        by_scan = any(v is not None for v in (self.prefix, self.from_datetime, self.to_datetime))
        return (self.keys is not None) != by_scan

    def execute(self, context: dict[str, Any]) -> None:
        if not self._one_way():  # a template may have rendered to nothing
            raise TaskError(
                f"task {self.task_id!r}: Either keys or at least one of prefix, "
                "from_datetime, to_datetime should be set."
            )
        if isinstance(self.keys, list | str) and not self.keys:
            print("No keys to delete", flush=True)
            return
        hook = self.hook
        keys = self.keys or hook.list_keys(
            bucket_name=self.bucket,
            prefix=self.prefix,
            from_datetime=_as_utc(self.from_datetime),
            to_datetime=_as_utc(self.to_datetime),
        )
        if keys:
            hook.delete_objects(bucket=self.bucket, keys=keys)


class S3ListOperator(S3Operator):
    """The keys of ``bucket`` under ``prefix`` (not past ``delimiter``): the task's XCom."""

    template_fields: ClassVar[tuple[str, ...]] = ("bucket", "prefix", "delimiter", *_AWS_FIELDS)
    ui_color = "#ffd700"

    bucket: str
    prefix: str
    delimiter: str
    apply_wildcard: bool

    def __init__(
        self,
        task_id: str,
        *,
        bucket: str,
        prefix: str = "",
        delimiter: str = "",
        apply_wildcard: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, S3ListOperator, locals())

    def execute(self, context: dict[str, Any]) -> list[str]:
        print(
            f"Getting the list of files from bucket: {self.bucket} in prefix: {self.prefix} "
            f"(Delimiter {self.delimiter})",
            flush=True,
        )
        return self.hook.list_keys(
            bucket_name=self.bucket,
            prefix=self.prefix,
            delimiter=self.delimiter,
            apply_wildcard=self.apply_wildcard,
        )
