"""Airflow's ``BigQueryToGCSOperator`` (an extract job) and ``GCSToBigQueryOperator`` (a load
job), each one BigQuery job built from the operator's keywords and run by ``BigQueryHook``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

from conveyor.exceptions import TaskError
from conveyor.model.task import BaseOperator
from conveyor.providers._fields import keep_fields
from conveyor.providers.google._jobs import JobOptions, run_operator_job
from conveyor.providers.google._waiting import drop_waiting
from conveyor.providers.google.base_google import refuse_impersonation
from conveyor.providers.google.bigquery import BigQueryHook, split_tablename
from conveyor.providers.google.gcs import GCSHook


class _ConfiguredJob(JobOptions, Protocol):
    """A transfer operator whose job's configuration is built from its fields."""

    @property
    def gcp_conn_id(self) -> str: ...
    @property
    def project_id(self) -> str | None: ...
    def configuration(self, hook: BigQueryHook) -> dict[str, Any]: ...


def _run_configured_job(
    operator: _ConfiguredJob, context: dict[str, Any]
) -> tuple[BigQueryHook, Any]:
    """Run the job of ``operator``'s configuration (in the connection's project unless the
    operator names one); the hook and the finished job."""
    hook = BigQueryHook(gcp_conn_id=operator.gcp_conn_id, location=operator.location)
    configuration = operator.configuration(hook)
    job = run_operator_job(
        operator, hook, configuration, context, project_id=operator.project_id or hook.project_id
    )
    print(f"Job {job.job_id} is {job.state}", flush=True)
    return hook, job


class BigQueryToGCSOperator(BaseOperator):
    """Export ``source_project_dataset_table`` to ``destination_cloud_storage_uris``
    (``gs://bucket/name``, ``*`` for several files) as ``export_format`` (CSV,
    NEWLINE_DELIMITED_JSON, AVRO, PARQUET); returns the job id."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "source_project_dataset_table",
        "destination_cloud_storage_uris",
        "export_format",
        "labels",
        "impersonation_chain",
        "job_id",
        "gcp_conn_id",
    )
    ui_color = "#e4e6f0"

    source_project_dataset_table: str
    destination_cloud_storage_uris: list[str] | str
    project_id: str | None
    compression: str
    export_format: str
    field_delimiter: str
    print_header: bool
    gcp_conn_id: str
    labels: dict[str, str] | None
    location: str | None
    impersonation_chain: str | Sequence[str] | None
    result_timeout: float | None
    job_id: str | None
    force_rerun: bool
    reattach_states: set[str] | None

    def __init__(
        self,
        task_id: str,
        *,
        source_project_dataset_table: str,
        destination_cloud_storage_uris: list[str] | str,
        project_id: str | None = None,
        compression: str = "NONE",
        export_format: str = "CSV",
        field_delimiter: str = ",",
        print_header: bool = True,
        gcp_conn_id: str = "google_cloud_default",
        labels: dict[str, str] | None = None,
        location: str | None = None,
        impersonation_chain: str | Sequence[str] | None = None,
        result_timeout: float | None = None,
        job_id: str | None = None,
        force_rerun: bool = False,
        reattach_states: set[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **drop_waiting(kwargs))
        keep_fields(self, BigQueryToGCSOperator, locals())

    def configuration(self, hook: BigQueryHook) -> dict[str, Any]:
        """The extract job's REST configuration."""
        project, dataset, table = split_tablename(
            self.source_project_dataset_table,
            self.project_id or hook.project_id,
            "source_project_dataset_table",
        )
        uris = self.destination_cloud_storage_uris
        extract: dict[str, Any] = {
            "sourceTable": {"projectId": project, "datasetId": dataset, "tableId": table},
            "compression": self.compression,
            "destinationUris": [uris] if isinstance(uris, str) else list(uris),
            "destinationFormat": self.export_format,
        }
        if self.export_format == "CSV":
            # Only CSV has a delimiter and a header row.
            extract["fieldDelimiter"] = self.field_delimiter
            extract["printHeader"] = self.print_header
        configuration: dict[str, Any] = {"extract": extract}
        if self.labels:
            configuration["labels"] = self.labels
        return configuration

    def execute(self, context: dict[str, Any]) -> str:
        refuse_impersonation(self.impersonation_chain, f"task {self.task_id!r}")
        print(
            f"Executing extract of {self.source_project_dataset_table} into: "
            f"{self.destination_cloud_storage_uris}",
            flush=True,
        )
        _, job = _run_configured_job(self, context)
        return str(job.job_id)


class GCSToBigQueryOperator(BaseOperator):
    """Load ``source_objects`` of ``bucket`` into ``destination_project_dataset_table``,
    with ``schema_fields`` (or the JSON ``schema_object`` in Cloud Storage, or
    ``autodetect``); returns the largest ``max_id_key`` value loaded, if that is given.
    ``external_table=True`` (a table that reads the files in place) is refused."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "bucket",
        "source_objects",
        "schema_fields",
        "schema_object",
        "schema_object_bucket",
        "destination_project_dataset_table",
        "impersonation_chain",
        "src_fmt_configs",
        "extra_config",
        "gcp_conn_id",
    )
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers: ClassVar[dict[str, str]] = {"schema_fields": "json"}
    ui_color = "#f0eee4"

    bucket: str
    source_objects: str | list[str]
    destination_project_dataset_table: str
    schema_fields: list[dict[str, Any]] | None
    schema_object: str | None
    schema_object_bucket: str | None
    source_format: str
    create_disposition: str
    skip_leading_rows: int | None
    write_disposition: str
    field_delimiter: str
    max_bad_records: int
    quote_character: str | None
    ignore_unknown_values: bool
    allow_quoted_newlines: bool
    allow_jagged_rows: bool
    encoding: str
    max_id_key: str | None
    gcp_conn_id: str
    schema_update_options: Sequence[str]
    src_fmt_configs: dict[str, Any] | None
    extra_config: dict[str, Any] | None
    time_partitioning: dict[str, Any] | None
    range_partitioning: dict[str, Any] | None
    cluster_fields: list[str] | None
    autodetect: bool
    encryption_configuration: dict[str, Any] | None
    location: str | None
    impersonation_chain: str | Sequence[str] | None
    labels: dict[str, str] | None
    description: str | None
    result_timeout: float | None
    job_id: str | None
    force_rerun: bool
    reattach_states: set[str] | None
    project_id: str | None

    def __init__(
        self,
        task_id: str,
        *,
        bucket: str,
        source_objects: str | list[str],
        destination_project_dataset_table: str,
        schema_fields: list[dict[str, Any]] | None = None,
        schema_object: str | None = None,
        schema_object_bucket: str | None = None,
        source_format: str = "CSV",
        compression: str = "NONE",
        create_disposition: str = "CREATE_IF_NEEDED",
        skip_leading_rows: int | None = None,
        write_disposition: str = "WRITE_EMPTY",
        field_delimiter: str = ",",
        max_bad_records: int = 0,
        quote_character: str | None = None,
        ignore_unknown_values: bool = False,
        allow_quoted_newlines: bool = False,
        allow_jagged_rows: bool = False,
        encoding: str = "UTF-8",
        max_id_key: str | None = None,
        gcp_conn_id: str = "google_cloud_default",
        schema_update_options: Sequence[str] = (),
        src_fmt_configs: dict[str, Any] | None = None,
        extra_config: dict[str, Any] | None = None,
        external_table: bool = False,
        time_partitioning: dict[str, Any] | None = None,
        range_partitioning: dict[str, Any] | None = None,
        cluster_fields: list[str] | None = None,
        autodetect: bool = True,
        encryption_configuration: dict[str, Any] | None = None,
        location: str | None = None,
        impersonation_chain: str | Sequence[str] | None = None,
        labels: dict[str, str] | None = None,
        description: str | None = None,
        result_timeout: float | None = None,
        job_id: str | None = None,
        force_rerun: bool = True,
        reattach_states: set[str] | None = None,
        project_id: str | None = None,
        force_delete: bool = False,
        **kwargs: Any,
    ) -> None:
        # Refused when the task runs: the DAG file loads, as on Airflow.
        if external_table:
            self.refuse_when_run(
                f"task {task_id!r}: external_table=True is not supported by Conveyor's "
                "GCSToBigQueryOperator; load the files (external_table=False) or create the "
                "external table with BigQueryCreateTableOperator's table_resource"
            )
        if force_delete:
            self.refuse_when_run(
                f"task {task_id!r}: force_delete is only for external tables, which Conveyor "
                "does not create; use write_disposition='WRITE_TRUNCATE'"
            )
        super().__init__(task_id, **drop_waiting(kwargs))
        keep_fields(self, GCSToBigQueryOperator, locals())

    def _schema(self) -> list[dict[str, Any]] | None:
        if self.schema_fields or not self.schema_object:
            return self.schema_fields
        hook = GCSHook(gcp_conn_id=self.gcp_conn_id)
        text = hook.download(self.schema_object_bucket or self.bucket, self.schema_object)
        found: list[dict[str, Any]] = json.loads(text)
        return found

    def configuration(self, hook: BigQueryHook) -> dict[str, Any]:
        """The load job's REST configuration."""
        project, dataset, table = split_tablename(
            self.destination_project_dataset_table,
            self.project_id or hook.project_id,
            "destination_project_dataset_table",
        )
        objects = (
            [self.source_objects] if isinstance(self.source_objects, str) else self.source_objects
        )
        load: dict[str, Any] = {
            "destinationTable": {"projectId": project, "datasetId": dataset, "tableId": table},
            "sourceFormat": self.source_format,
            "sourceUris": [f"gs://{self.bucket}/{name}" for name in objects],
            "createDisposition": self.create_disposition,
            "writeDisposition": self.write_disposition,
            "ignoreUnknownValues": self.ignore_unknown_values,
        }
        schema = self._schema()
        if schema:
            load["schema"] = {"fields": schema}
        else:
            load["autodetect"] = self.autodetect
        if self.source_format == "CSV":
            load.update(
                fieldDelimiter=self.field_delimiter,
                allowQuotedNewlines=self.allow_quoted_newlines,
                allowJaggedRows=self.allow_jagged_rows,
                encoding=self.encoding,
            )
            if self.skip_leading_rows is not None:
                load["skipLeadingRows"] = self.skip_leading_rows
            if self.quote_character is not None:
                load["quote"] = self.quote_character
        if self.max_bad_records:
            load["maxBadRecords"] = self.max_bad_records
        for key, value in (
            ("schemaUpdateOptions", list(self.schema_update_options or ())),
            ("timePartitioning", self.time_partitioning),
            ("rangePartitioning", self.range_partitioning),
            ("clustering", {"fields": self.cluster_fields} if self.cluster_fields else None),
            ("destinationEncryptionConfiguration", self.encryption_configuration),
            (
                "destinationTableProperties",
                {"description": self.description} if self.description else None,
            ),
        ):
            if value:
                load[key] = value
        load.update(self.src_fmt_configs or {})
        load.update(self.extra_config or {})
        configuration: dict[str, Any] = {"load": load}
        if self.labels:
            configuration["labels"] = self.labels
        return configuration

    def execute(self, context: dict[str, Any]) -> Any:
        refuse_impersonation(self.impersonation_chain, f"task {self.task_id!r}")
        hook, _ = _run_configured_job(self, context)
        if not self.max_id_key:
            return None
        project, dataset, table = split_tablename(
            self.destination_project_dataset_table, self.project_id or hook.project_id
        )
        row = BigQueryHook(gcp_conn_id=self.gcp_conn_id, use_legacy_sql=False).get_first(
            f"SELECT MAX({self.max_id_key}) AS max_value FROM `{project}.{dataset}.{table}`"
        )
        if not row or row[0] is None:
            raise TaskError(f"The {self.max_id_key} column of {table} holds no value")
        print(f"Loaded BQ data with MAX value of column {self.max_id_key}: {row[0]}", flush=True)
        return row[0]
