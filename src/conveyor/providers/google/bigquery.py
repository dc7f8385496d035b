"""Airflow's ``BigQueryHook``: jobs, datasets, tables and queries through
``google-cloud-bigquery``.

``get_client()`` is the library's ``bigquery.Client`` on the connection's credentials and
project (``BIGQUERY_EMULATOR_HOST`` points it at an emulator, without credentials);
``get_conn()`` its DB-API connection, which ``get_records`` / ``get_first`` use (parameters in
``%(name)s`` form). ``insert_job`` runs a job from the REST API's configuration dict
(``query``, ``load``, ``extract`` or ``copy``), as ``BigQueryInsertJobOperator`` gives it.
The connection's extras ``use_legacy_sql`` (True unless set, as in Airflow), ``location``,
``priority`` and ``labels`` are the hook's defaults.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence
from typing import Any

from conveyor.exceptions import TaskError
from conveyor.providers._extras import load
from conveyor.providers._hook import HookNames
from conveyor.providers.google.base_google import GoogleBaseHook, optional_library

bigquery = load("google.cloud.bigquery", "google", "google")
from google.api_core import exceptions as api_errors  # noqa: E402
from google.cloud.bigquery import dbapi  # noqa: E402
from google.cloud.bigquery.job import CopyJob, ExtractJob, LoadJob, QueryJob  # noqa: E402

#: The configuration key of each job kind -> the library's job class.
JOB_KINDS: dict[str, Any] = {
    "load": LoadJob,
    "copy": CopyJob,
    "extract": ExtractJob,
    "query": QueryJob,
}
#: ``project.dataset.table``, ``project:dataset.table`` or ``dataset.table``.
_TABLE = re.compile(
    r"(?:(?P<project>[^.:]+(?::[^.:]+)?)[.:])?(?P<dataset>[^.:]+)\.(?P<table>[^.:]+)"
)


def split_tablename(
    table_input: str, default_project_id: str | None, var_name: str | None = None
) -> tuple[str | None, str, str]:
    """``(project, dataset, table)`` of a table's name; the project defaults."""
    found = _TABLE.fullmatch(table_input or "")
    if found is None:
        where = f"{var_name} " if var_name else ""
        raise ValueError(
            f"{where}{table_input!r} must name a table as <project>.<dataset>.<table> or "
            "<dataset>.<table>"
        )
    return found["project"] or default_project_id, found["dataset"], found["table"]


def query_parameter(resource: dict[str, Any]) -> Any:
    """A query parameter of the library from its REST form."""
    kind = resource.get("parameterType") or {}
    if "arrayType" in kind:
        return bigquery.ArrayQueryParameter.from_api_repr(resource)
    if "structTypes" in kind:
        return bigquery.StructQueryParameter.from_api_repr(resource)
    return bigquery.ScalarQueryParameter.from_api_repr(resource)


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes")


class BigQueryHook(GoogleBaseHook):
    """Airflow's ``BigQueryHook(gcp_conn_id=..., use_legacy_sql=..., location=...)``."""

    names = HookNames(
        "gcp_conn_id", "google_cloud_bigquery_default", "gcpbigquery", "Google Bigquery"
    )
    emulator_env = "BIGQUERY_EMULATOR_HOST"

    def __init__(
        self,
        gcp_conn_id: str = "google_cloud_default",
        use_legacy_sql: bool | None = None,
        location: str | None = None,
        priority: str | None = None,
        api_resource_configs: dict[str, Any] | None = None,
        impersonation_chain: str | Sequence[str] | None = None,
        labels: dict[str, str] | None = None,
        impersonation_scopes: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if impersonation_scopes:
            raise TaskError(
                "BigQueryHook: impersonation_scopes is not supported by Conveyor (nor is "
                "impersonation_chain); give the connection that account's key and scope"
            )
        super().__init__(gcp_conn_id=gcp_conn_id, impersonation_chain=impersonation_chain, **kwargs)
        self._use_legacy_sql = use_legacy_sql
        self._location = location
        self._priority = priority
        self._labels = labels
        self.api_resource_configs = api_resource_configs or {}

    @property
    def use_legacy_sql(self) -> bool:
        if self._use_legacy_sql is not None:
            return self._use_legacy_sql
        return _flag(self._get_field("use_legacy_sql", True))

    @property
    def location(self) -> str | None:
        return self._location or self._get_field("location")

    @property
    def priority(self) -> str:
        return str(self._priority or self._get_field("priority") or "INTERACTIVE")

    @property
    def labels(self) -> dict[str, str]:
        return dict(self._labels or self._get_field("labels") or {})

    # -- clients -------------------------------------------------------------------------

    def get_client(self, project_id: str | None = None, location: str | None = None) -> Any:
        """A ``google.cloud.bigquery.Client`` of ``project_id`` (else the connection's)."""
        credentials, project = self.get_credentials_and_project_id()
        return bigquery.Client(
            project=project_id or project,
            credentials=credentials,
            location=location or self.location,
        )

    def get_conn(self) -> Any:
        """The library's DB-API connection (``google.cloud.bigquery.dbapi``)."""
        return dbapi.connect(self.get_client(), prefer_bqstorage_client=False)

    def _query_config(self) -> Any:
        config = bigquery.QueryJobConfig(use_legacy_sql=self.use_legacy_sql, priority=self.priority)
        if self.labels:
            config.labels = self.labels
        return config

    def get_records(self, sql: str, parameters: Any = None) -> list[tuple[Any, ...]]:
        """Every row ``sql`` returns, as tuples."""
        cursor = self.get_conn().cursor()
        cursor.execute(sql, parameters, job_config=self._query_config())
        return [tuple(row) for row in cursor.fetchall()]

    def get_first(self, sql: str, parameters: Any = None) -> tuple[Any, ...] | None:
        """The first row ``sql`` returns, or None."""
        cursor = self.get_conn().cursor()
        cursor.execute(sql, parameters, job_config=self._query_config())
        row = cursor.fetchone()
        return None if row is None else tuple(row)

    def first_row(
        self, sql: str, query_params: list[dict[str, Any]] | None = None
    ) -> tuple[Any, ...] | None:
        """The first row of ``sql``, its ``@name`` parameters given in the REST form
        (``{"name", "parameterType", "parameterValue"}``), as Airflow's check operators
        pass them; None when there is no row."""
        config = self._query_config()
        if query_params:
            config.query_parameters = [query_parameter(p) for p in query_params]
        for row in self.get_client().query(sql, job_config=config).result(max_results=1):
            return tuple(row.values())
        return None

    def get_pandas_df(
        self, sql: str, parameters: Any = None, dialect: str | None = None, **_: Any
    ) -> Any:
        """The rows of ``sql`` as a pandas DataFrame (needs pandas installed)."""
        optional_library("pandas", "BigQueryHook.get_pandas_df")
        legacy = self.use_legacy_sql if dialect is None else dialect == "legacy"
        config = bigquery.QueryJobConfig(use_legacy_sql=legacy)
        return self.get_client().query(sql, job_config=config).result().to_dataframe()

    # -- jobs ----------------------------------------------------------------------------

    def insert_job(
        self,
        configuration: dict[str, Any],
        job_id: str | None = None,
        project_id: str | None = None,
        location: str | None = None,
        nowait: bool = False,
        retry: Any = None,
        timeout: float | None = None,
    ) -> Any:
        """Start the job ``configuration`` describes and, unless ``nowait``, wait for its end;
        the library's job (``QueryJob``, ``LoadJob``, ...). A failed job raises the library's
        error with BigQuery's message."""
        kind = next((k for k in JOB_KINDS if k in configuration), None)
        if kind is None:
            raise TaskError(
                f"Unknown job type. Supported types: {sorted(JOB_KINDS)}; the configuration "
                f"has {sorted(configuration)}"
            )
        location = location or self.location
        project_id = project_id or self.project_id
        client = self.get_client(project_id=project_id, location=location)
        resource = {
            "configuration": configuration,
            "jobReference": {
                "jobId": job_id or f"airflow_{int(time.time())}_{uuid.uuid4().hex[:12]}",
                "projectId": project_id,
                "location": location,
            },
        }
        job = JOB_KINDS[kind].from_api_repr(resource, client)
        self.log.info("Inserting job %s", job.job_id)
        if nowait:
            job._begin()  # the library's own start; result() would also wait for the end
        else:
            job.result(timeout=timeout, **({"retry": retry} if retry is not None else {}))
        return job

    def get_job(
        self, job_id: str, project_id: str | None = None, location: str | None = None
    ) -> Any:
        client = self.get_client(project_id=project_id, location=location)
        return client.get_job(
            job_id=job_id, project=project_id or client.project, location=location
        )

    def run_query(
        self,
        sql: str,
        destination_dataset_table: str | None = None,
        write_disposition: str = "WRITE_EMPTY",
        create_disposition: str = "CREATE_IF_NEEDED",
        use_legacy_sql: bool | None = None,
        query_params: list[dict[str, Any]] | None = None,
        labels: dict[str, str] | None = None,
        priority: str | None = None,
        location: str | None = None,
        **unsupported: Any,
    ) -> str:
        """Airflow's older ``run_query``: a query job (into ``destination_dataset_table`` if
        given); its job id."""
        given = sorted(k for k, v in unsupported.items() if v is not None)
        if given:
            raise TaskError(
                f"BigQueryHook.run_query: {', '.join(given)} not supported by Conveyor; "
                "give the job's configuration to insert_job instead"
            )
        query: dict[str, Any] = {
            "query": sql,
            "useLegacySql": self.use_legacy_sql if use_legacy_sql is None else use_legacy_sql,
            "priority": priority or self.priority,
            "createDisposition": create_disposition,
        }
        if destination_dataset_table:
            project, dataset, table = split_tablename(
                destination_dataset_table, self.project_id, "destination_dataset_table"
            )
            query["destinationTable"] = {
                "projectId": project,
                "datasetId": dataset,
                "tableId": table,
            }
            query["writeDisposition"] = write_disposition
        if query_params:
            query["queryParameters"] = query_params
        configuration: dict[str, Any] = {"query": query}
        # The hook's api_resource_configs add to (and win over) what the keywords built.
        for key, value in self.api_resource_configs.items():
            if isinstance(value, dict) and isinstance(configuration.get(key), dict):
                configuration[key].update(value)
            else:
                configuration[key] = value
        if labels or self.labels:
            configuration["labels"] = labels or self.labels
        return str(self.insert_job(configuration, location=location).job_id)

    # -- datasets and tables -------------------------------------------------------------

    def create_empty_dataset(
        self,
        dataset_id: str | None = None,
        project_id: str | None = None,
        location: str | None = None,
        dataset_reference: dict[str, Any] | None = None,
        exists_ok: bool = True,
    ) -> dict[str, Any]:
        """Create a dataset (``dataset_reference`` is its REST resource); its resource."""
        resource = dict(dataset_reference or {"datasetReference": {}})
        reference = dict(resource.get("datasetReference") or {})
        for key, value in (("datasetId", dataset_id), ("projectId", project_id or self.project_id)):
            if value and reference.get(key) not in (None, value):
                raise ValueError(
                    f"{key} given as {value!r} and as {reference[key]!r} in dataset_reference"
                )
            reference[key] = reference.get(key) or value
        if not reference.get("datasetId"):
            raise ValueError(
                "dataset_id or dataset_reference's datasetReference.datasetId is required"
            )
        resource["datasetReference"] = reference
        location = location or self.location
        if location and not resource.get("location"):
            resource["location"] = location
        dataset = bigquery.Dataset.from_api_repr(resource)
        made = self.get_client(project_id=reference["projectId"], location=location).create_dataset(
            dataset, exists_ok=exists_ok
        )
        found: dict[str, Any] = made.to_api_repr()
        return found

    def get_dataset(self, dataset_id: str, project_id: str | None = None) -> Any:
        client = self.get_client(project_id=project_id)
        return client.get_dataset(
            bigquery.DatasetReference(project_id or client.project, dataset_id)
        )

    def delete_dataset(
        self,
        dataset_id: str,
        project_id: str | None = None,
        delete_contents: bool = False,
        retry: Any = None,
    ) -> None:
        """Delete the dataset (with its tables if ``delete_contents``); a missing one is fine."""
        client = self.get_client(project_id=project_id)
        client.delete_dataset(
            bigquery.DatasetReference(project_id or client.project, dataset_id),
            delete_contents=delete_contents,
            not_found_ok=True,
        )

    def create_empty_table(
        self,
        project_id: str | None = None,
        dataset_id: str | None = None,
        table_id: str | None = None,
        table_resource: dict[str, Any] | None = None,
        schema_fields: list[dict[str, Any]] | None = None,
        time_partitioning: dict[str, Any] | None = None,
        cluster_fields: list[str] | None = None,
        labels: dict[str, str] | None = None,
        view: dict[str, Any] | None = None,
        materialized_view: dict[str, Any] | None = None,
        encryption_configuration: dict[str, Any] | None = None,
        retry: Any = None,
        location: str | None = None,
        exists_ok: bool = True,
    ) -> Any:
        """Create a table from ``table_resource`` or from the schema and settings given."""
        if table_resource is None:
            table_resource = {}
            for key, value in (
                ("schema", {"fields": schema_fields} if schema_fields else None),
                ("timePartitioning", time_partitioning),
                ("clustering", {"fields": cluster_fields} if cluster_fields else None),
                ("labels", labels),
                ("view", view),
                ("materializedView", materialized_view),
                ("encryptionConfiguration", encryption_configuration),
            ):
                if value:
                    table_resource[key] = value
        return self.create_table(
            dataset_id=dataset_id or "",
            table_id=table_id or "",
            table_resource=table_resource,
            location=location,
            project_id=project_id,
            exists_ok=exists_ok,
        )

    def create_table(
        self,
        dataset_id: str,
        table_id: str,
        table_resource: dict[str, Any],
        location: str | None = None,
        project_id: str | None = None,
        exists_ok: bool = True,
        schema_fields: list[dict[str, Any]] | None = None,
        retry: Any = None,
        timeout: float | None = None,
    ) -> Any:
        """Create the table ``table_resource`` (the REST resource) describes; the table."""
        client = self.get_client(project_id=project_id, location=location)
        resource = dict(table_resource)
        reference = dict(resource.get("tableReference") or {})
        reference.setdefault("projectId", project_id or client.project)
        if dataset_id:
            reference.setdefault("datasetId", dataset_id)
        if table_id:
            reference.setdefault("tableId", table_id)
        if not (reference.get("datasetId") and reference.get("tableId")):
            raise ValueError("a table needs dataset_id and table_id (or tableReference)")
        resource["tableReference"] = reference
        if schema_fields:
            resource["schema"] = {"fields": schema_fields}
        table = bigquery.Table.from_api_repr(resource)
        return client.create_table(table, exists_ok=exists_ok, timeout=timeout)

    def delete_table(
        self, table_id: str, not_found_ok: bool = True, project_id: str | None = None
    ) -> None:
        """Delete ``dataset.table`` or ``project.dataset.table``."""
        project, dataset, table = split_tablename(
            table_id, project_id or self.project_id, "table_id"
        )
        client = self.get_client(project_id=project)
        client.delete_table(f"{project}.{dataset}.{table}", not_found_ok=not_found_ok)

    def table_exists(self, dataset_id: str, table_id: str, project_id: str | None = None) -> bool:
        client = self.get_client(project_id=project_id)
        try:
            client.get_table(f"{project_id or client.project}.{dataset_id}.{table_id}")
        except api_errors.NotFound:
            return False
        return True

    def get_tabledata(
        self,
        dataset_id: str,
        table_id: str,
        project_id: str | None = None,
        max_results: int | None = None,
        selected_fields: str | Sequence[str] | None = None,
        start_index: int | None = None,
    ) -> list[dict[str, Any]]:
        """The table's rows as dicts (``list_rows``)."""
        client = self.get_client(project_id=project_id)
        table = client.get_table(f"{project_id or client.project}.{dataset_id}.{table_id}")
        fields = selected_fields.split(",") if isinstance(selected_fields, str) else selected_fields
        schema = [f for f in table.schema if not fields or f.name in [x.strip() for x in fields]]
        rows = client.list_rows(
            table, selected_fields=schema, max_results=max_results, start_index=start_index
        )
        return [dict(row.items()) for row in rows]

    def insert_all(
        self,
        project_id: str,
        dataset_id: str,
        table_id: str,
        rows: list[dict[str, Any]],
        ignore_unknown_values: bool = False,
        skip_invalid_rows: bool = False,
        fail_on_error: bool = False,
    ) -> None:
        """Stream ``rows`` (dicts, or Airflow's ``{"json": {...}}`` form) into the table."""
        client = self.get_client(project_id=project_id)
        table = client.get_table(f"{project_id or client.project}.{dataset_id}.{table_id}")
        plain = [r["json"] if set(r) == {"json"} else r for r in rows]
        errors = client.insert_rows(
            table,
            plain,
            ignore_unknown_values=ignore_unknown_values,
            skip_invalid_rows=skip_invalid_rows,
        )
        if errors:
            message = f"{len(errors)} insert error(s) occurred. Details: {errors}"
            self.log.error(message)
            if fail_on_error:
                raise TaskError(f"BigQuery job failed. Error was: {message}")
        else:
            self.log.info(
                "All row(s) inserted successfully: %s:%s.%s", project_id, dataset_id, table_id
            )
