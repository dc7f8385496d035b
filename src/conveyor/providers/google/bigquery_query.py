"""Airflow's older BigQuery operators that take keywords rather than a job's configuration.

``BigQueryExecuteQueryOperator`` (``contrib.py`` has Airflow 1.10's ``BigQueryOperator``)
builds a query job from its keywords and runs it with ``BigQueryHook.insert_job``, once per
statement when ``sql`` is a list; it returns the job id (a list of them for a list).
``use_legacy_sql`` defaults to True, as in Airflow. ``BigQueryUpsertTableOperator`` creates
the table its ``table_resource`` names, or updates it from that resource when it exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from conveyor.exceptions import TaskError
from conveyor.providers._fields import keep_fields
from conveyor.providers.google.bigquery import api_errors, split_tablename
from conveyor.providers.google.bigquery_operators import _BigQueryOperator

#: Keywords that become fields of the query's REST configuration as given (when not None).
_QUERY_FIELDS = {
    "flatten_results": "flattenResults",
    "maximum_billing_tier": "maximumBillingTier",
    "maximum_bytes_billed": "maximumBytesBilled",
    "time_partitioning": "timePartitioning",
    "encryption_configuration": "destinationEncryptionConfiguration",
}


def query_configuration(
    sql: str,
    *,
    project_id: str | None,
    destination_dataset_table: str | None = None,
    write_disposition: str = "WRITE_EMPTY",
    create_disposition: str = "CREATE_IF_NEEDED",
    use_legacy_sql: bool = True,
    query_params: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    priority: str = "INTERACTIVE",
    allow_large_results: bool = False,
    udf_config: list[dict[str, Any]] | None = None,
    schema_update_options: Sequence[str] | None = None,
    cluster_fields: list[str] | None = None,
    api_resource_configs: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """The REST configuration of a query job, from Airflow's ``run_query`` keywords."""
    query: dict[str, Any] = {
        "query": sql,
        "useLegacySql": use_legacy_sql,
        "priority": priority,
        "createDisposition": create_disposition,
    }
    if destination_dataset_table:
        project, dataset, table = split_tablename(
            destination_dataset_table, project_id, "destination_dataset_table"
        )
        query["destinationTable"] = {"projectId": project, "datasetId": dataset, "tableId": table}
        query["writeDisposition"] = write_disposition
    if allow_large_results:
        query["allowLargeResults"] = True
    if udf_config:
        query["userDefinedFunctionResources"] = list(udf_config)
    if schema_update_options:
        query["schemaUpdateOptions"] = list(schema_update_options)
    if cluster_fields:
        query["clustering"] = {"fields": list(cluster_fields)}
    if query_params:
        query["queryParameters"] = list(query_params)
    for keyword, field in _QUERY_FIELDS.items():
        if fields.get(keyword) is not None:
            query[field] = fields[keyword]
    configuration: dict[str, Any] = {"query": query}
    # api_resource_configs adds to (and wins over) what the keywords built, as in Airflow.
    for key, value in (api_resource_configs or {}).items():
        if isinstance(value, dict) and isinstance(configuration.get(key), dict):
            configuration[key].update(value)
        else:
            configuration[key] = value
    if labels:
        configuration["labels"] = labels
    return configuration


class BigQueryExecuteQueryOperator(_BigQueryOperator):
    """Run ``sql`` (a statement, or a list run in order) as query jobs; the job id(s)."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "sql",
        "destination_dataset_table",
        "labels",
        "query_params",
        "impersonation_chain",
    )
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers: ClassVar[dict[str, str]] = {"sql": "sql"}

    sql: str | list[str]
    destination_dataset_table: str | None
    write_disposition: str
    allow_large_results: bool
    flatten_results: bool | None
    gcp_conn_id: str
    udf_config: list[dict[str, Any]] | None
    use_legacy_sql: bool
    maximum_billing_tier: int | None
    maximum_bytes_billed: float | None
    create_disposition: str
    schema_update_options: Sequence[str] | None
    query_params: list[dict[str, Any]] | None
    labels: dict[str, str] | None
    priority: str
    time_partitioning: dict[str, Any] | None
    api_resource_configs: dict[str, Any] | None
    cluster_fields: list[str] | None
    location: str | None
    encryption_configuration: dict[str, Any] | None
    impersonation_chain: str | Sequence[str] | None

    def __init__(
        self,
        task_id: str,
        *,
        sql: str | list[str],
        destination_dataset_table: str | None = None,
        write_disposition: str = "WRITE_EMPTY",
        allow_large_results: bool = False,
        flatten_results: bool | None = None,
        gcp_conn_id: str = "google_cloud_default",
        udf_config: list[dict[str, Any]] | None = None,
        use_legacy_sql: bool = True,
        maximum_billing_tier: int | None = None,
        maximum_bytes_billed: float | None = None,
        create_disposition: str = "CREATE_IF_NEEDED",
        schema_update_options: Sequence[str] | None = None,
        query_params: list[dict[str, Any]] | None = None,
        labels: dict[str, str] | None = None,
        priority: str = "INTERACTIVE",
        time_partitioning: dict[str, Any] | None = None,
        api_resource_configs: dict[str, Any] | None = None,
        cluster_fields: list[str] | None = None,
        location: str | None = None,
        encryption_configuration: dict[str, Any] | None = None,
        impersonation_chain: str | Sequence[str] | None = None,
        job_id: str | list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.pop("impersonation_scopes", None):
            raise TaskError(
                f"task {task_id!r}: impersonation_scopes is not supported by Conveyor; give "
                "the connection that account's key and scope"
            )
        # Airflow 2.0's (and 1.10's) name of the connection keyword.
        gcp_conn_id = kwargs.pop("bigquery_conn_id", None) or gcp_conn_id
        if kwargs.pop("delegate_to", None):
            raise TaskError(
                f"task {task_id!r}: delegate_to (domain-wide delegation) is not supported by "
                "Conveyor; give the connection that account's key"
            )
        super().__init__(task_id, **kwargs)
        keep_fields(self, BigQueryExecuteQueryOperator, locals())
        self.job_id: str | list[str] | None = job_id

    def _configuration(self, sql: str, project_id: str | None) -> dict[str, Any]:
        return query_configuration(
            sql,
            project_id=project_id,
            destination_dataset_table=self.destination_dataset_table,
            write_disposition=self.write_disposition,
            create_disposition=self.create_disposition,
            use_legacy_sql=self.use_legacy_sql,
            query_params=self.query_params,
            labels=self.labels,
            priority=self.priority,
            allow_large_results=self.allow_large_results,
            udf_config=self.udf_config,
            schema_update_options=self.schema_update_options,
            cluster_fields=self.cluster_fields,
            api_resource_configs=self.api_resource_configs,
            flatten_results=self.flatten_results,
            maximum_billing_tier=self.maximum_billing_tier,
            maximum_bytes_billed=self.maximum_bytes_billed,
            time_partitioning=self.time_partitioning,
            encryption_configuration=self.encryption_configuration,
        )

    def execute(self, context: dict[str, Any]) -> str | list[str]:
        hook = self._hook(location=self.location)
        project_id = hook.project_id
        statements = [self.sql] if isinstance(self.sql, str) else list(self.sql)
        ids: list[str] = []
        for statement in statements:
            print(f"Executing: {statement}", flush=True)
            job = hook.insert_job(
                self._configuration(statement, project_id), location=self.location
            )
            ids.append(str(job.job_id))
        self.job_id = ids[0] if isinstance(self.sql, str) else ids
        return self.job_id


class BigQueryUpsertTableOperator(_BigQueryOperator):
    """Create the table ``table_resource`` describes in ``dataset_id``, or update it with
    that resource when it exists (not atomic, as in BigQuery itself); the table's resource."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "dataset_id",
        "table_resource",
        "impersonation_chain",
        "project_id",
        "gcp_conn_id",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"table_resource": "json"}

    dataset_id: str
    table_resource: dict[str, Any]
    project_id: str | None
    gcp_conn_id: str
    location: str | None
    impersonation_chain: str | Sequence[str] | None

    def __init__(
        self,
        task_id: str,
        *,
        dataset_id: str,
        table_resource: dict[str, Any],
        project_id: str | None = None,
        gcp_conn_id: str = "google_cloud_default",
        location: str | None = None,
        impersonation_chain: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, BigQueryUpsertTableOperator, locals())

    def execute(self, context: dict[str, Any]) -> dict[str, Any]:
        from google.cloud import bigquery

        hook = self._hook(location=self.location)
        client = hook.get_client(project_id=self.project_id, location=self.location)
        resource = dict(self.table_resource)
        table_id = (resource.get("tableReference") or {}).get("tableId")
        if not table_id:
            raise TaskError(f"task {self.task_id!r}: table_resource needs tableReference.tableId")
        project = self.project_id or client.project
        resource["tableReference"] = {
            "projectId": project,
            "datasetId": self.dataset_id,
            "tableId": table_id,
        }
        name = f"{project}.{self.dataset_id}.{table_id}"
        try:
            client.get_table(name)
        except api_errors.NotFound:
            print(f"Table {name} does not exist. creating.", flush=True)
            table = client.create_table(bigquery.Table.from_api_repr(resource))
        else:
            print(f"Table {name} exists, updating.", flush=True)
            fields = [k for k in resource if k != "tableReference"]
            table = client.update_table(bigquery.Table.from_api_repr(resource), fields)
        found: dict[str, Any] = table.to_api_repr()
        return found
