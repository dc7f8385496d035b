"""Airflow 1.10's ``airflow.contrib`` names of the BigQuery and Cloud Storage pieces.

They are the provider's classes with 1.10's keywords and defaults: the connection keywords
``bigquery_conn_id`` (default ``bigquery_default``, the connection 1.10 made) and
``google_cloud_storage_conn_id``, ``autodetect=False`` for loads, and ``delegate_to``
refused (domain-wide delegation, which Conveyor does not do).
"""

from __future__ import annotations

from typing import Any

from conveyor.exceptions import TaskError
from conveyor.providers.google.bigquery import BigQueryHook as _BigQueryHook
from conveyor.providers.google.bigquery_query import BigQueryExecuteQueryOperator
from conveyor.providers.google.bigquery_transfers import (
    BigQueryToGCSOperator,
    GCSToBigQueryOperator,
)

#: The BigQuery connection Airflow 1.10's contrib classes use unless told otherwise.
BIGQUERY_DEFAULT = "bigquery_default"


def _refuse_delegation(task_id: str, kwargs: dict[str, Any]) -> None:
    if kwargs.pop("delegate_to", None):
        raise TaskError(
            f"task {task_id!r}: delegate_to (domain-wide delegation) is not supported by "
            "Conveyor; give the connection that account's key"
        )


class BigQueryHook(_BigQueryHook):
    """1.10's ``BigQueryHook(bigquery_conn_id="bigquery_default", use_legacy_sql=True)``."""

    def __init__(self, bigquery_conn_id: str = BIGQUERY_DEFAULT, **kwargs: Any) -> None:
        kwargs.setdefault("gcp_conn_id", kwargs.pop("gcp_conn_id", None) or bigquery_conn_id)
        super().__init__(**kwargs)


class BigQueryOperator(BigQueryExecuteQueryOperator):
    """1.10's ``BigQueryOperator``: ``sql`` (or its older name ``bql``) as query jobs, on
    ``bigquery_conn_id``."""

    def __init__(self, task_id: str, *, sql: str | list[str] | None = None, **kwargs: Any) -> None:
        bql = kwargs.pop("bql", None)
        if sql is None and bql is None:
            raise TaskError(f"task {task_id!r}: BigQueryOperator needs sql")
        _refuse_delegation(task_id, kwargs)
        kwargs["gcp_conn_id"] = kwargs.pop("bigquery_conn_id", None) or kwargs.get(
            "gcp_conn_id", BIGQUERY_DEFAULT
        )
        super().__init__(task_id, sql=sql if sql is not None else bql, **kwargs)


class GoogleCloudStorageToBigQueryOperator(GCSToBigQueryOperator):
    """1.10's load from Cloud Storage: BigQuery reads the files itself, on
    ``bigquery_conn_id``; ``google_cloud_storage_conn_id`` reads ``schema_object``."""

    def __init__(
        self,
        task_id: str,
        *,
        bigquery_conn_id: str = BIGQUERY_DEFAULT,
        google_cloud_storage_conn_id: str = "google_cloud_default",
        autodetect: bool = False,
        **kwargs: Any,
    ) -> None:
        _refuse_delegation(task_id, kwargs)
        if kwargs.get("schema_object") and google_cloud_storage_conn_id != bigquery_conn_id:
            raise TaskError(
                f"task {task_id!r}: Conveyor reads schema_object and loads through one "
                f"connection; give bigquery_conn_id and google_cloud_storage_conn_id the same "
                f"id (got {bigquery_conn_id!r} and {google_cloud_storage_conn_id!r})"
            )
        super().__init__(task_id, gcp_conn_id=bigquery_conn_id, autodetect=autodetect, **kwargs)


class BigQueryToCloudStorageOperator(BigQueryToGCSOperator):
    """1.10's extract to Cloud Storage, on ``bigquery_conn_id``."""

    def __init__(self, task_id: str, *, bigquery_conn_id: str = BIGQUERY_DEFAULT, **kwargs: Any):
        _refuse_delegation(task_id, kwargs)
        # 1.10 ran a new extract job each time; the provider's job id of the task came later.
        kwargs.setdefault("force_rerun", True)
        super().__init__(task_id, gcp_conn_id=bigquery_conn_id, **kwargs)
