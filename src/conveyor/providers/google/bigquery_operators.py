"""Airflow's BigQuery operators, each a call or two of ``BigQueryHook``.

``BigQueryInsertJobOperator`` runs any job from its REST configuration (templated, ``.sql``
and ``.json`` files too) and returns the job id; the dataset and table operators create and
delete; ``BigQueryCheckOperator`` / ``BigQueryValueCheckOperator`` fail the task when a
query's first row is not what is expected; ``BigQueryGetDataOperator`` returns a table's
rows (lists, or dicts with ``as_dict``). Keywords that only say how to wait (``deferrable``,
``poll_interval``...) are taken, see ``_waiting.py``; ``impersonation_chain`` is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from conveyor.exceptions import Skip, TaskError
from conveyor.model.task import BaseOperator
from conveyor.providers._fields import keep_fields
from conveyor.providers.google._jobs import run_operator_job
from conveyor.providers.google._waiting import drop_waiting
from conveyor.providers.google.base_google import refuse_impersonation
from conveyor.providers.google.bigquery import BigQueryHook, api_errors, split_tablename

_UI_COLOR = "#e4f0e8"


class _BigQueryOperator(BaseOperator):
    """The connection keywords every BigQuery operator has."""

    ui_color = _UI_COLOR

    def __init__(self, task_id: str, **kwargs: Any) -> None:
        super().__init__(task_id, **drop_waiting(kwargs))

    def _hook(self, **more: Any) -> BigQueryHook:
        refuse_impersonation(getattr(self, "impersonation_chain", None), f"task {self.task_id!r}")
        return BigQueryHook(gcp_conn_id=self.gcp_conn_id, **more)  # type: ignore[attr-defined]


class BigQueryInsertJobOperator(_BigQueryOperator):
    """Run the job ``configuration`` describes (``{"query": {...}}``, ``load``, ``extract``,
    ``copy``) and return its id. With ``force_rerun=False`` the job id is fixed by the DAG,
    task, run and configuration: a job of that id that already exists is reattached to when
    its state is in ``reattach_states``, else the task fails, as in Airflow."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "configuration",
        "job_id",
        "gcp_conn_id",
        "impersonation_chain",
        "project_id",
    )
    template_ext: Sequence[str] = (".json", ".sql")
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "configuration": "json",
        "configuration.query.query": "sql",
    }

    configuration: dict[str, Any]
    project_id: str | None
    location: str | None
    job_id: str | None
    force_rerun: bool
    gcp_conn_id: str
    impersonation_chain: str | Sequence[str] | None
    result_timeout: float | None

    def __init__(
        self,
        task_id: str,
        *,
        configuration: dict[str, Any],
        project_id: str | None = None,
        location: str | None = None,
        job_id: str | None = None,
        force_rerun: bool = True,
        reattach_states: set[str] | None = None,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        result_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, BigQueryInsertJobOperator, locals())
        self.reattach_states: set[str] = set(reattach_states or ())

    def execute(self, context: dict[str, Any]) -> str | None:
        if isinstance(self.configuration, str):
            # A configuration given as a .json file's name was rendered into that file's text.
            try:
                self.configuration = json.loads(self.configuration)
            except ValueError:
                raise TaskError(
                    f"task {self.task_id!r}: configuration must be the job's dict, or a .json "
                    "file holding it; got text that is not JSON"
                ) from None
        hook = self._hook(location=self.location)
        job = run_operator_job(self, hook, self.configuration, context, project_id=self.project_id)
        self.job_id = job.job_id
        print(f"BigQuery job {job.job_id} is {job.state}", flush=True)
        return str(job.job_id)


class BigQueryCreateEmptyDatasetOperator(_BigQueryOperator):
    """Create ``dataset_id`` (or the ``dataset_reference`` resource); ``if_exists``:
    ``log`` (default), ``ignore``, ``fail`` or ``skip``. Returns the dataset's resource."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "dataset_id",
        "project_id",
        "dataset_reference",
        "gcp_conn_id",
        "impersonation_chain",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"dataset_reference": "json"}

    dataset_id: str | None
    project_id: str | None
    dataset_reference: dict[str, Any] | None
    location: str | None
    gcp_conn_id: str
    impersonation_chain: str | Sequence[str] | None

    def __init__(
        self,
        task_id: str,
        *,
        dataset_id: str | None = None,
        project_id: str | None = None,
        dataset_reference: dict[str, Any] | None = None,
        location: str | None = None,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        if_exists: str = "log",
        exists_ok: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, BigQueryCreateEmptyDatasetOperator, locals())
        if exists_ok is not None:  # Airflow's older keyword
            if_exists = "ignore" if exists_ok else "fail"
        self.if_exists = _if_exists(task_id, if_exists)

    def execute(self, context: dict[str, Any]) -> dict[str, Any]:
        hook = self._hook()
        try:
            return hook.create_empty_dataset(
                dataset_id=self.dataset_id,
                project_id=self.project_id,
                location=self.location,
                dataset_reference=self.dataset_reference,
                exists_ok=self.if_exists == "ignore",
            )
        except api_errors.Conflict:
            return _existing(
                self,
                f"Dataset {self.dataset_id}",
                lambda: hook.get_dataset(self.dataset_id or "", self.project_id).to_api_repr(),
            )


def refuse_encryption(task: BaseOperator, kwargs: dict[str, Any]) -> None:
    """A customer key for the query's results changes what is written: not done, so refused
    when the task runs (its DAG file loads, as on Airflow)."""
    if kwargs.pop("encryption_configuration", None):
        task.refuse_when_run(
            f"task {task.task_id!r}: encryption_configuration is not supported by Conveyor's "
            "BigQuery check and read operators; run the query with BigQueryInsertJobOperator"
        )


def _if_exists(task_id: str, value: str) -> str:
    if value not in ("log", "ignore", "fail", "skip"):
        raise TaskError(
            f"task {task_id!r}: if_exists={value!r}; give one of log, ignore, fail, skip"
        )
    return value


def _existing(task: Any, what: str, fetch: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """What ``if_exists`` says to do when the dataset or table is there already."""
    if task.if_exists == "fail":
        raise TaskError(f"{what} already exists.")
    if task.if_exists == "skip":
        raise Skip(f"{what} already exists.")
    print(f"{what} already exists.", flush=True)
    return fetch()


class BigQueryDeleteDatasetOperator(_BigQueryOperator):
    """Delete ``dataset_id`` (its tables too with ``delete_contents``)."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "dataset_id",
        "project_id",
        "gcp_conn_id",
        "impersonation_chain",
    )

    dataset_id: str
    project_id: str | None
    delete_contents: bool
    gcp_conn_id: str
    impersonation_chain: str | Sequence[str] | None

    def __init__(
        self,
        task_id: str,
        *,
        dataset_id: str,
        project_id: str | None = None,
        delete_contents: bool = False,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, BigQueryDeleteDatasetOperator, locals())

    def execute(self, context: dict[str, Any]) -> None:
        print(f"Dataset id: {self.dataset_id} Project id: {self.project_id}", flush=True)
        self._hook().delete_dataset(
            dataset_id=self.dataset_id,
            project_id=self.project_id,
            delete_contents=self.delete_contents,
        )


class BigQueryCreateTableOperator(_BigQueryOperator):
    """Airflow 3's ``BigQueryCreateTableOperator``: create ``dataset_id.table_id`` from the
    REST ``table_resource``; ``if_exists`` as for datasets. Returns the table's resource."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "dataset_id",
        "table_id",
        "table_resource",
        "project_id",
        "gcs_schema_object",
        "gcp_conn_id",
        "impersonation_chain",
        "google_cloud_storage_conn_id",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"table_resource": "json"}

    dataset_id: str
    table_id: str
    table_resource: dict[str, Any]
    project_id: str | None
    location: str | None
    gcs_schema_object: str | None
    gcp_conn_id: str
    google_cloud_storage_conn_id: str
    impersonation_chain: str | Sequence[str] | None

    def __init__(
        self,
        task_id: str,
        *,
        dataset_id: str,
        table_id: str,
        table_resource: dict[str, Any],
        project_id: str | None = None,
        location: str | None = None,
        gcs_schema_object: str | None = None,
        gcp_conn_id: str = "google_cloud_default",
        google_cloud_storage_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        if_exists: str = "log",
        **kwargs: Any,
    ) -> None:
        # The library's retry and timeout of the one create call: its own defaults serve.
        kwargs.pop("retry", None)
        kwargs.pop("timeout", None)
        super().__init__(task_id, **kwargs)
        keep_fields(self, BigQueryCreateTableOperator, locals())
        self.if_exists = _if_exists(task_id, if_exists)

    def _resource(self) -> dict[str, Any]:
        resource = dict(self.table_resource or {})
        if self.gcs_schema_object:
            from conveyor.providers.google.gcs import GCSHook, parse_gcs_url

            bucket, name = parse_gcs_url(self.gcs_schema_object)
            text = GCSHook(gcp_conn_id=self.google_cloud_storage_conn_id).download(bucket, name)
            resource["schema"] = {"fields": json.loads(text)}
        return resource

    def execute(self, context: dict[str, Any]) -> dict[str, Any]:
        hook = self._hook(location=self.location)
        try:
            table = hook.create_table(
                dataset_id=self.dataset_id,
                table_id=self.table_id,
                table_resource=self._resource(),
                project_id=self.project_id,
                location=self.location,
                exists_ok=self.if_exists == "ignore",
            )
        except api_errors.Conflict:
            client = hook.get_client(project_id=self.project_id)
            name = f"{self.project_id or client.project}.{self.dataset_id}.{self.table_id}"
            return _existing(self, f"Table {name}", lambda: client.get_table(name).to_api_repr())
        print(f"Table {table.full_table_id} created successfully", flush=True)
        found: dict[str, Any] = table.to_api_repr()
        return found


class BigQueryCreateEmptyTableOperator(BigQueryCreateTableOperator):
    """Airflow 2's name: the table from ``schema_fields`` (and the other settings) or from
    ``table_resource``."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "dataset_id",
        "table_id",
        "table_resource",
        "project_id",
        "gcs_schema_object",
        "labels",
        "view",
        "materialized_view",
        "impersonation_chain",
    )

    def __init__(
        self,
        task_id: str,
        *,
        dataset_id: str,
        table_id: str,
        table_resource: dict[str, Any] | None = None,
        project_id: str | None = None,
        schema_fields: list[dict[str, Any]] | None = None,
        gcs_schema_object: str | None = None,
        time_partitioning: dict[str, Any] | None = None,
        gcp_conn_id: str = "google_cloud_default",
        google_cloud_storage_conn_id: str = "google_cloud_default",
        labels: dict[str, str] | None = None,
        view: dict[str, Any] | None = None,
        materialized_view: dict[str, Any] | None = None,
        encryption_configuration: dict[str, Any] | None = None,
        location: str | None = None,
        cluster_fields: list[str] | None = None,
        impersonation_chain: str | Sequence[str] | None = None,
        if_exists: str = "log",
        bigquery_conn_id: str | None = None,
        exists_ok: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            task_id,
            dataset_id=dataset_id,
            table_id=table_id,
            table_resource=table_resource or {},
            project_id=project_id,
            location=location,
            gcs_schema_object=gcs_schema_object,
            gcp_conn_id=bigquery_conn_id or gcp_conn_id,
            google_cloud_storage_conn_id=google_cloud_storage_conn_id,
            impersonation_chain=impersonation_chain,
            if_exists=if_exists if exists_ok is None else ("ignore" if exists_ok else "fail"),
            **kwargs,
        )
        self.schema_fields = schema_fields
        self.time_partitioning = time_partitioning
        self.labels = labels
        self.view = view
        self.materialized_view = materialized_view
        self.encryption_configuration = encryption_configuration
        self.cluster_fields = cluster_fields

    def _resource(self) -> dict[str, Any]:
        resource = super()._resource()
        if self.table_resource:
            return resource
        for key, value in (
            ("schema", {"fields": self.schema_fields} if self.schema_fields else None),
            ("timePartitioning", self.time_partitioning),
            ("clustering", {"fields": self.cluster_fields} if self.cluster_fields else None),
            ("labels", self.labels),
            ("view", self.view),
            ("materializedView", self.materialized_view),
            ("encryptionConfiguration", self.encryption_configuration),
        ):
            if value and key not in resource:
                resource[key] = value
        return resource


class BigQueryDeleteTableOperator(_BigQueryOperator):
    """Delete ``deletion_dataset_table`` (``project.dataset.table`` or ``dataset.table``);
    a missing table fails unless ``ignore_if_missing``."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "deletion_dataset_table",
        "gcp_conn_id",
        "impersonation_chain",
    )

    deletion_dataset_table: str
    gcp_conn_id: str
    ignore_if_missing: bool
    location: str | None
    impersonation_chain: str | Sequence[str] | None

    def __init__(
        self,
        task_id: str,
        *,
        deletion_dataset_table: str,
        gcp_conn_id: str = "google_cloud_default",
        ignore_if_missing: bool = False,
        location: str | None = None,
        impersonation_chain: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, BigQueryDeleteTableOperator, locals())

    def execute(self, context: dict[str, Any]) -> None:
        print(f"Deleting: {self.deletion_dataset_table}", flush=True)
        self._hook(location=self.location).delete_table(
            table_id=self.deletion_dataset_table, not_found_ok=self.ignore_if_missing
        )


class _BigQuerySqlOperator(_BigQueryOperator):
    """A query's first row, on the operator's connection and SQL dialect: the keywords
    the check operators share are here."""

    sql: str
    gcp_conn_id: str
    use_legacy_sql: bool
    location: str | None
    labels: dict[str, str] | None
    impersonation_chain: str | Sequence[str] | None

    def __init__(
        self,
        task_id: str,
        *,
        sql: str,
        gcp_conn_id: str = "google_cloud_default",
        use_legacy_sql: bool = True,
        location: str | None = None,
        impersonation_chain: str | Sequence[str] | None = None,
        labels: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        encryption = {"encryption_configuration": kwargs.pop("encryption_configuration", None)}
        super().__init__(task_id, **kwargs)
        refuse_encryption(self, encryption)
        keep_fields(self, _BigQuerySqlOperator, locals())
        self.conn_id = gcp_conn_id  # Airflow's SQL operators' name for it, templated too

    def _first(self, query_params: list[dict[str, Any]] | None = None) -> tuple[Any, ...] | None:
        """The first row of ``sql``, with BigQuery's own ``@name`` parameters, as Airflow."""
        hook = self._hook(
            use_legacy_sql=self.use_legacy_sql, location=self.location, labels=self.labels
        )
        print(f"Executing SQL check: {self.sql}", flush=True)
        return hook.first_row(self.sql, query_params)


class BigQueryCheckOperator(_BigQuerySqlOperator):
    """Fail unless every value of ``sql``'s first row is true (Python's truth), as Airflow's
    ``SQLCheckOperator``; no row at all fails too."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "sql",
        "gcp_conn_id",
        "impersonation_chain",
        "labels",
        "query_params",
        "conn_id",
    )
    template_ext: Sequence[str] = (".sql",)

    query_params: list[dict[str, Any]] | None

    def __init__(
        self,
        task_id: str,
        *,
        sql: str,
        query_params: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, sql=sql, **kwargs)
        self.query_params = query_params

    def execute(self, context: dict[str, Any]) -> None:
        records = self._first(self.query_params)
        print(f"Record: {records}", flush=True)
        if not records:
            raise TaskError(f"The following query returned zero rows: {self.sql}")
        if not all(records):
            raise TaskError(f"Test failed.\nQuery:\n{self.sql}\nResults:\n{records!s}")
        print("Success.", flush=True)


class BigQueryValueCheckOperator(_BigQuerySqlOperator):
    """Fail unless ``sql``'s first row equals ``pass_value``: numbers within ``tolerance``
    (a fraction: 0.1 is 10%), anything else as text, as Airflow's ``SQLValueCheckOperator``."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "sql",
        "gcp_conn_id",
        "pass_value",
        "impersonation_chain",
        "labels",
        "conn_id",
    )
    template_ext: Sequence[str] = (".sql",)

    def __init__(
        self, task_id: str, *, sql: str, pass_value: Any, tolerance: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(task_id, sql=sql, **kwargs)
        self.pass_value = str(pass_value)
        self.tol = float(tolerance) if tolerance is not None else None
        self.has_tolerance = self.tol is not None

    def execute(self, context: dict[str, Any]) -> None:
        records = self._first()
        if not records:
            raise TaskError(f"The following query returned zero rows: {self.sql}")
        try:
            expected: float | str = float(self.pass_value)
        except ValueError:
            expected = self.pass_value
        if isinstance(expected, float):
            try:
                numbers = [float(r) for r in records]
            except (TypeError, ValueError):
                raise TaskError(
                    f"Converting a result to float failed.\nQuery:\n{self.sql}\nResults:\n{records}"
                ) from None
            if self.tol is not None:
                good = [
                    expected * (1 - self.tol) <= n <= expected * (1 + self.tol) for n in numbers
                ]
            else:
                good = [n == expected for n in numbers]
        else:
            good = [str(r) == expected for r in records]
        if not all(good):
            within = f" within tolerance of {self.tol:.1%}" if self.tol is not None else ""
            raise TaskError(
                f"Test failed.\nPass value:{self.pass_value}\nTolerance:{within or None}\n"
                f"Query:\n{self.sql}\nResults:\n{records!s}"
            )


class BigQueryGetDataOperator(_BigQueryOperator):
    """Return up to ``max_results`` rows of ``dataset_id.table_id`` (``selected_fields``
    only, if given), each a list of values, or a dict with ``as_dict``."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "dataset_id",
        "table_id",
        "table_project_id",
        "job_id",
        "job_project_id",
        "project_id",
        "max_results",
        "selected_fields",
        "gcp_conn_id",
        "impersonation_chain",
    )

    dataset_id: str | None
    table_id: str | None
    table_project_id: str | None
    job_id: str | None
    job_project_id: str | None
    project_id: str | None
    max_results: int
    selected_fields: str | None
    gcp_conn_id: str
    location: str | None
    impersonation_chain: str | Sequence[str] | None
    as_dict: bool

    def __init__(
        self,
        task_id: str,
        *,
        dataset_id: str | None = None,
        table_id: str | None = None,
        table_project_id: str | None = None,
        job_id: str | None = None,
        job_project_id: str | None = None,
        project_id: str | None = None,
        max_results: int = 100,
        selected_fields: str | None = None,
        gcp_conn_id: str = "google_cloud_default",
        location: str | None = None,
        impersonation_chain: str | Sequence[str] | None = None,
        as_dict: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("use_legacy_sql", None)  # only read for a job's query, which Conveyor reads
        encryption = {"encryption_configuration": kwargs.pop("encryption_configuration", None)}
        super().__init__(task_id, **kwargs)
        refuse_encryption(self, encryption)
        keep_fields(self, BigQueryGetDataOperator, locals())

    def execute(self, context: dict[str, Any]) -> list[Any]:
        hook = self._hook(location=self.location)
        if self.job_id:
            job = hook.get_job(
                self.job_id,
                project_id=self.job_project_id or self.project_id,
                location=self.location,
            )
            destination = job.destination
            project, dataset, table = (
                destination.project,
                destination.dataset_id,
                destination.table_id,
            )
        elif self.dataset_id and self.table_id:
            project = self.table_project_id or self.project_id
            dataset, table = self.dataset_id, self.table_id
        else:
            raise TaskError(f"task {self.task_id!r}: give dataset_id and table_id, or job_id")
        print(f"Fetching Data from {dataset}.{table} max results: {self.max_results}", flush=True)
        rows = hook.get_tabledata(
            dataset_id=dataset,
            table_id=table,
            project_id=project,
            max_results=int(self.max_results),
            selected_fields=self.selected_fields,
        )
        if self.as_dict:
            return rows
        return [list(row.values()) for row in rows]


__all__ = [
    "BigQueryCheckOperator",
    "BigQueryCreateEmptyDatasetOperator",
    "BigQueryCreateEmptyTableOperator",
    "BigQueryCreateTableOperator",
    "BigQueryDeleteDatasetOperator",
    "BigQueryDeleteTableOperator",
    "BigQueryGetDataOperator",
    "BigQueryInsertJobOperator",
    "BigQueryValueCheckOperator",
    "split_tablename",
]
