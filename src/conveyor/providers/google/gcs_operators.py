"""Airflow's Cloud Storage operators, each a call or two of ``GCSHook``.

``GCSListObjectsOperator`` returns the object names, which become its XCom; the others
return nothing, as in Airflow. ``impersonation_chain`` is refused (``base_google.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from conveyor.model.task import BaseOperator
from conveyor.providers._fields import keep_fields
from conveyor.providers.google.base_google import refuse_impersonation
from conveyor.providers.google.gcs import GCSHook, api_errors


class _GCSOperator(BaseOperator):
    ui_color = "#f0eee4"

    gcp_conn_id: str
    impersonation_chain: str | Sequence[str] | None

    def _hook(self) -> GCSHook:
        refuse_impersonation(self.impersonation_chain, f"task {self.task_id!r}")
        return GCSHook(gcp_conn_id=self.gcp_conn_id)


class GCSCreateBucketOperator(_GCSOperator):
    """Create ``bucket_name``; one that exists already is logged, not an error."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "bucket_name",
        "storage_class",
        "location",
        "project_id",
        "gcp_conn_id",
        "impersonation_chain",
    )
    ui_color = "#f0eee4"

    bucket_name: str
    resource: dict[str, Any] | None
    storage_class: str
    location: str
    project_id: str | None
    labels: dict[str, str] | None

    def __init__(
        self,
        task_id: str,
        *,
        bucket_name: str,
        resource: dict[str, Any] | None = None,
        storage_class: str = "MULTI_REGIONAL",
        location: str = "US",
        project_id: str | None = None,
        labels: dict[str, str] | None = None,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, GCSCreateBucketOperator, locals())
        keep_fields(self, _GCSOperator, locals())

    def execute(self, context: dict[str, Any]) -> None:
        try:
            self._hook().create_bucket(
                bucket_name=self.bucket_name,
                resource=self.resource,
                storage_class=self.storage_class,
                location=self.location,
                project_id=self.project_id,
                labels=self.labels,
            )
        except api_errors.Conflict:
            print(f"Bucket {self.bucket_name} already exists", flush=True)


class GCSDeleteBucketOperator(_GCSOperator):
    """Delete ``bucket_name``, with its objects unless ``force=False``."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "bucket_name",
        "gcp_conn_id",
        "impersonation_chain",
        "user_project",
    )

    bucket_name: str
    force: bool
    user_project: str | None

    def __init__(
        self,
        task_id: str,
        *,
        bucket_name: str,
        force: bool = True,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        user_project: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, GCSDeleteBucketOperator, locals())
        keep_fields(self, _GCSOperator, locals())

    def execute(self, context: dict[str, Any]) -> None:
        self._hook().delete_bucket(
            bucket_name=self.bucket_name, force=self.force, user_project=self.user_project
        )


class GCSDeleteObjectsOperator(_GCSOperator):
    """Delete the ``objects`` named, or every object under ``prefix``."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "bucket_name",
        "prefix",
        "objects",
        "gcp_conn_id",
        "impersonation_chain",
    )

    bucket_name: str
    objects: list[str] | None
    prefix: str | None
    ignore_error: bool

    def __init__(
        self,
        task_id: str,
        *,
        bucket_name: str,
        objects: list[str] | None = None,
        prefix: str | None = None,
        ignore_error: bool = False,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if objects is None and prefix is None:
            raise ValueError("Either object or prefix should be set. Both are None.")
        super().__init__(task_id, **kwargs)
        keep_fields(self, GCSDeleteObjectsOperator, locals())
        keep_fields(self, _GCSOperator, locals())

    def execute(self, context: dict[str, Any]) -> None:
        hook = self._hook()
        if self.objects is not None:
            names = list(self.objects)
        else:
            names = hook.list(bucket_name=self.bucket_name, prefix=self.prefix)
        print(f"Deleting {len(names)} objects from {self.bucket_name}", flush=True)
        for name in names:
            try:
                hook.delete(bucket_name=self.bucket_name, object_name=name)
            except api_errors.NotFound:
                if not self.ignore_error:
                    raise


class GCSListObjectsOperator(_GCSOperator):
    """Return the names of the objects in ``bucket`` under ``prefix`` (a text or a list),
    grouped by ``delimiter`` or filtered by ``match_glob``."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "bucket",
        "prefix",
        "delimiter",
        "match_glob",
        "gcp_conn_id",
        "impersonation_chain",
    )
    ui_color = "#f0eee4"

    bucket: str
    prefix: str | list[str] | None
    delimiter: str | None
    match_glob: str | None

    def __init__(
        self,
        task_id: str,
        *,
        bucket: str,
        prefix: str | list[str] | None = None,
        delimiter: str | None = None,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        match_glob: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, GCSListObjectsOperator, locals())
        keep_fields(self, _GCSOperator, locals())

    def execute(self, context: dict[str, Any]) -> list[str]:
        print(
            f"Getting list of the files. Bucket: {self.bucket}; Prefix: {self.prefix}", flush=True
        )
        return self._hook().list(
            bucket_name=self.bucket,
            prefix=self.prefix,
            delimiter=self.delimiter,
            match_glob=self.match_glob,
        )
