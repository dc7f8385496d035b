"""Airflow's ``LocalFilesystemToGCSOperator`` and ``GCSToLocalFilesystemOperator``: files of
the worker's disk to Cloud Storage and back."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from typing import Any, ClassVar

from conveyor.exceptions import TaskError
from conveyor.model.task import BaseOperator
from conveyor.providers._fields import keep_fields
from conveyor.providers.google.base_google import refuse_impersonation
from conveyor.providers.google.gcs import GCSHook

#: Airflow's limit on an object read into an XCom (``store_to_xcom_key``).
MAX_XCOM_SIZE = 49344


class LocalFilesystemToGCSOperator(BaseOperator):
    """Upload ``src`` (a path, a glob pattern, or a list of paths) to ``dst`` in ``bucket``;
    several files need a ``dst`` folder ending in ``/`` (or empty)."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "src",
        "dst",
        "bucket",
        "impersonation_chain",
        "gcp_conn_id",
    )

    src: str | list[str]
    dst: str
    bucket: str
    gcp_conn_id: str
    mime_type: str
    gzip: bool
    chunk_size: int | None
    impersonation_chain: str | Sequence[str] | None

    def __init__(
        self,
        task_id: str,
        *,
        src: str | list[str],
        dst: str,
        bucket: str,
        gcp_conn_id: str = "google_cloud_default",
        mime_type: str = "application/octet-stream",
        gzip: bool = False,
        chunk_size: int | None = None,
        impersonation_chain: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, LocalFilesystemToGCSOperator, locals())

    def execute(self, context: dict[str, Any]) -> None:
        refuse_impersonation(self.impersonation_chain, f"task {self.task_id!r}")
        hook = GCSHook(gcp_conn_id=self.gcp_conn_id)
        paths = self.src if isinstance(self.src, list) else sorted(glob.glob(self.src))
        if not paths:
            raise FileNotFoundError(self.src)
        if os.path.basename(self.dst):
            if len(paths) > 1:
                raise ValueError(
                    "'dst' parameter references filepath. Please specify directory (with "
                    "trailing backslash) to upload multiple files. e.g. /path/to/directory/"
                )
            names = [self.dst]
        else:
            names = [os.path.join(self.dst, os.path.basename(p)) for p in paths]
        for path, name in zip(paths, names, strict=True):
            hook.upload(
                bucket_name=self.bucket,
                object_name=name,
                mime_type=self.mime_type,
                filename=path,
                gzip=self.gzip,
                chunk_size=self.chunk_size,
            )


class GCSToLocalFilesystemOperator(BaseOperator):
    """Download ``object_name`` of ``bucket`` to ``filename``, or into the XCom
    ``store_to_xcom_key`` as text (``file_encoding``; at most 48 KiB)."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "bucket",
        "object_name",
        "filename",
        "store_to_xcom_key",
        "impersonation_chain",
        "file_encoding",
        "gcp_conn_id",
    )
    ui_color = "#f0eee4"

    bucket: str
    object_name: str
    filename: str | None
    store_to_xcom_key: str | None
    gcp_conn_id: str
    impersonation_chain: str | Sequence[str] | None
    file_encoding: str

    def __init__(
        self,
        task_id: str,
        *,
        bucket: str,
        object_name: str | None = None,
        filename: str | None = None,
        store_to_xcom_key: str | None = None,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        file_encoding: str = "utf-8",
        **kwargs: Any,
    ) -> None:
        object_name = object_name or kwargs.pop("object", None)  # Airflow 2.0's keyword
        if object_name is None:
            raise ValueError("GCSToLocalFilesystemOperator: object_name is required")
        if filename is not None and store_to_xcom_key is not None:
            raise ValueError("Either filename or store_to_xcom_key can be set")
        super().__init__(task_id, **kwargs)
        keep_fields(self, GCSToLocalFilesystemOperator, locals())

    def execute(self, context: dict[str, Any]) -> None:
        refuse_impersonation(self.impersonation_chain, f"task {self.task_id!r}")
        hook = GCSHook(gcp_conn_id=self.gcp_conn_id)
        print(f"Executing download: {self.bucket}, {self.object_name}, {self.filename}", flush=True)
        if self.store_to_xcom_key:
            size = hook.get_size(bucket_name=self.bucket, object_name=self.object_name)
            if size >= MAX_XCOM_SIZE:
                raise TaskError("The size of the downloaded file is too large to push to XCom!")
            data = hook.download(bucket_name=self.bucket, object_name=self.object_name)
            assert isinstance(data, bytes)
            context["ti"].xcom_push(
                key=self.store_to_xcom_key, value=data.decode(self.file_encoding)
            )
        else:
            hook.download(
                bucket_name=self.bucket, object_name=self.object_name, filename=self.filename
            )
