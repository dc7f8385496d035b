"""Airflow's Cloud Storage and BigQuery sensors: wait for an object, for any object under a
prefix, or for a table. They work in poke and reschedule modes like every Conveyor sensor
(``deferrable=True`` waits in reschedule mode: ``sensors/base.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from conveyor.providers._fields import keep_fields
from conveyor.providers.google.base_google import refuse_impersonation
from conveyor.providers.google.bigquery import BigQueryHook
from conveyor.providers.google.gcs import GCSHook
from conveyor.sensors.base import BaseSensor


class GCSObjectExistenceSensor(BaseSensor):
    """Wait for ``object`` in ``bucket`` (with ``use_glob``, any object matching it)."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "bucket",
        "object",
        "impersonation_chain",
        "google_cloud_conn_id",
    )
    ui_color = "#f0eee4"

    bucket: str
    object: str
    use_glob: bool
    google_cloud_conn_id: str
    impersonation_chain: str | Sequence[str] | None

    def __init__(
        self,
        task_id: str,
        *,
        bucket: str,
        object: str,
        use_glob: bool = False,
        google_cloud_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("retry", None)  # the library's retry of one request: its default serves
        super().__init__(task_id, **kwargs)
        keep_fields(self, GCSObjectExistenceSensor, locals())

    def poke(self, context: dict[str, Any]) -> bool:
        refuse_impersonation(self.impersonation_chain, f"task {self.task_id!r}")
        print(f"Sensor checks existence of : {self.bucket}, {self.object}", flush=True)
        hook = GCSHook(gcp_conn_id=self.google_cloud_conn_id)
        if self.use_glob:
            return bool(hook.list(self.bucket, match_glob=self.object))
        return hook.exists(self.bucket, self.object)


class GCSObjectsWithPrefixExistenceSensor(BaseSensor):
    """Wait for any object under ``prefix`` in ``bucket``; returns their names."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "bucket",
        "prefix",
        "impersonation_chain",
        "google_cloud_conn_id",
    )
    ui_color = "#f0eee4"

    bucket: str
    prefix: str
    google_cloud_conn_id: str
    impersonation_chain: str | Sequence[str] | None

    def __init__(
        self,
        task_id: str,
        *,
        bucket: str,
        prefix: str,
        google_cloud_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, GCSObjectsWithPrefixExistenceSensor, locals())

    def poke(self, context: dict[str, Any]) -> list[str] | bool:
        refuse_impersonation(self.impersonation_chain, f"task {self.task_id!r}")
        print(f"Checking for existence of object: {self.bucket}, {self.prefix}", flush=True)
        found = GCSHook(gcp_conn_id=self.google_cloud_conn_id).list(self.bucket, prefix=self.prefix)
        return found or False


class BigQueryTableExistenceSensor(BaseSensor):
    """Wait for the table ``project_id.dataset_id.table_id``."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "project_id",
        "dataset_id",
        "table_id",
        "impersonation_chain",
        "gcp_conn_id",
    )
    ui_color = "#f0eee4"

    project_id: str
    dataset_id: str
    table_id: str
    gcp_conn_id: str
    impersonation_chain: str | Sequence[str] | None

    def __init__(
        self,
        task_id: str,
        *,
        project_id: str,
        dataset_id: str,
        table_id: str,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, BigQueryTableExistenceSensor, locals())

    def poke(self, context: dict[str, Any]) -> bool:
        refuse_impersonation(self.impersonation_chain, f"task {self.task_id!r}")
        table_uri = f"{self.project_id}:{self.dataset_id}.{self.table_id}"
        print(f"Sensor checks existence of table: {table_uri}", flush=True)
        return BigQueryHook(gcp_conn_id=self.gcp_conn_id).table_exists(
            project_id=self.project_id, dataset_id=self.dataset_id, table_id=self.table_id
        )
