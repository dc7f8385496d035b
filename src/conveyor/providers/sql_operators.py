"""The SQL operators of Airflow's common.sql provider, on any connection a SQL hook serves.

``SQLExecuteQueryOperator`` runs ``sql`` (text, a list of statements, or a ``.sql`` template
file from the DAG folder or ``template_searchpath``) and returns what the hook's ``run``
returns with its ``handler``: the rows of the last statement by default, as a list of rows.
``BranchSQLOperator`` follows one list of tasks or the other by the query's first value.

The return value becomes the task's XCom, which Conveyor keeps as JSON: cells JSON cannot
hold are written as text (dates and times in ISO form, ``Decimal`` and ``UUID`` as text,
bytes in hex) in the XCom, while the hook's own methods give the driver's values.
"""

from __future__ import annotations

import ast
import base64
import datetime
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from conveyor.exceptions import TaskError
from conveyor.model.task import BaseOperator
from conveyor.providers import registry
from conveyor.providers._fields import keep_fields
from conveyor.providers.dbapi import DbApiHook
from conveyor.providers.handlers import fetch_all_handler, return_single_query_results
from conveyor.providers.openlineage.operator_lineage import OperatorLineage
from conveyor.providers.openlineage.sql import lineage_of_sql


def json_ready(value: Any) -> Any:
    """``value`` as an XCom can hold it: the cells Airflow's XComs cannot hold either turned
    into text (bytes in hex, a ``time`` in ISO form), where Airflow would fail the try. A
    date, a ``Decimal``, a ``UUID``, a row's tuple stay as they are: XComs keep them
    (``xcom_serde``), as Airflow's do."""
    if isinstance(value, list):
        return [json_ready(item) for item in value]
    if isinstance(value, tuple):
        return tuple(json_ready(item) for item in value)
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, datetime.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b16encode(bytes(value)).decode().lower()
    return value


class BaseSQLOperator(BaseOperator):
    """What the SQL operators share: the connection id, the database override and the hook."""

    template_fields: ClassVar[tuple[str, ...]] = ("conn_id", "database", "hook_params")
    ui_color = "#cdaaed"

    conn_id: str | None
    database: str | None
    retry_on_failure: bool

    def __init__(
        self,
        task_id: str,
        *,
        conn_id: str | None = None,
        database: str | None = None,
        hook_params: dict[str, Any] | None = None,
        retry_on_failure: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, BaseSQLOperator, locals())
        self.hook_params = dict(hook_params or {})

    def get_db_hook(self) -> DbApiHook:
        """The hook for ``conn_id``'s type, with ``database`` applied as Airflow applies it:
        PostgreSQL's database, the schema elsewhere."""
        if not self.conn_id:
            raise TaskError(f"task {self.task_id!r}: conn_id is required")
        hook = registry.get_hook(self.conn_id, self.hook_params)
        if self.database:
            if hasattr(hook, "database"):
                hook.database = self.database
            else:
                hook.schema = self.database
        return hook

    def on_kill(self) -> None:
        """The try is stopped: cancel the statement running on the database, where the
        driver can (PostgreSQL, MySQL), as Airflow's SQL operators do."""
        hook = getattr(self, "_hook_running", None)
        if hook is not None:
            hook.cancel()


class SQLExecuteQueryOperator(BaseSQLOperator):
    """Run SQL on a connection; the result (by ``handler``) is the task's return value."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "sql",
        "parameters",
        *BaseSQLOperator.template_fields,
    )
    template_ext = (".sql", ".json")

    sql: str | list[str]
    autocommit: bool
    parameters: Mapping[str, Any] | list[Any] | tuple[Any, ...] | None
    handler: Callable[[Any], Any]
    output_processor: Callable[[list[Any], list[Any]], Any] | None
    split_statements: bool | None
    return_last: bool
    show_return_value_in_logs: bool
    requires_result_fetch: bool

    def __init__(
        self,
        task_id: str,
        *,
        sql: str | list[str],
        autocommit: bool = False,
        parameters: Mapping[str, Any] | list[Any] | tuple[Any, ...] | None = None,
        handler: Callable[[Any], Any] = fetch_all_handler,
        output_processor: Callable[[list[Any], list[Any]], Any] | None = None,
        split_statements: bool | None = None,
        return_last: bool = True,
        show_return_value_in_logs: bool = False,
        requires_result_fetch: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, SQLExecuteQueryOperator, locals())

    def _process_output(self, results: list[Any], descriptions: list[Any]) -> Any:
        if self.show_return_value_in_logs:
            print(f"Operator output is: {results}", flush=True)
        if self.output_processor is not None:
            return self.output_processor(results, descriptions)
        return results

    def execute(self, context: dict[str, Any]) -> Any:
        if isinstance(self.parameters, str):  # a rendered .json template
            self.parameters = ast.literal_eval(self.parameters)
        print(f"Executing: {self.sql}", flush=True)
        hook = self._hook_running = self.get_db_hook()
        pushing = getattr(self, "do_xcom_push", True)
        # Left out when not given: each hook's own default decides, as in Airflow.
        options = (
            {} if self.split_statements is None else {"split_statements": self.split_statements}
        )
        output = hook.run(
            sql=self.sql,
            autocommit=self.autocommit,
            parameters=self.parameters,
            handler=self.handler if pushing or self.requires_result_fetch else None,
            return_last=self.return_last,
            **options,
        )
        if not pushing:
            return None
        if return_single_query_results(self.sql, self.return_last, self.split_statements):
            return json_ready(self._process_output([output], hook.descriptions)[-1])
        return json_ready(self._process_output(output, hook.descriptions))

    # -- OpenLineage: the tables the statements read and write ---------------------------

    def get_openlineage_facets_on_start(self) -> OperatorLineage | None:
        """The ``sql`` job facet and the tables as datasets, from the rendered SQL parsed
        for the connection's database (None when the hook's database has no naming)."""
        return lineage_of_sql(self.get_db_hook(), self.sql, database=self.database)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage | None:
        return self.get_openlineage_facets_on_start()


_TRUE = ("y", "yes", "t", "true", "on", "1")
_FALSE = ("n", "no", "f", "false", "off", "0")


def _truth(task_id: str, value: Any) -> bool:
    """A query's value as Airflow's BranchSQLOperator reads it: a bool, a number, or a
    yes/no word; anything else is an error naming the value."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return bool(value)
    if isinstance(value, str) and value.lower() in (*_TRUE, *_FALSE):
        return value.lower() in _TRUE
    raise TaskError(
        f"task {task_id!r}: Unexpected query return result {value!r} type {type(value)!r}"
    )


class BranchSQLOperator(BaseSQLOperator):
    """Follow ``follow_task_ids_if_true`` when the query's first value is true (a true
    bool, a non-zero number, or "true", "yes", "1", ...), else ``follow_task_ids_if_false``;
    the other direct downstream tasks are skipped."""

    template_fields: ClassVar[tuple[str, ...]] = ("sql", *BaseSQLOperator.template_fields)
    template_ext = (".sql",)
    is_branch = True
    ui_color = "#a22034"

    sql: str
    parameters: Mapping[str, Any] | list[Any] | tuple[Any, ...] | None
    follow_task_ids_if_true: str | list[str]
    follow_task_ids_if_false: str | list[str]

    def __init__(
        self,
        task_id: str,
        *,
        sql: str,
        follow_task_ids_if_true: str | list[str],
        follow_task_ids_if_false: str | list[str],
        conn_id: str = "default_conn_id",
        parameters: Mapping[str, Any] | list[Any] | tuple[Any, ...] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, conn_id=conn_id, **kwargs)
        keep_fields(self, BranchSQLOperator, locals())

    def execute(self, context: dict[str, Any]) -> str | list[str]:
        print(f"Executing: {self.sql} (with parameters {self.parameters})", flush=True)
        record = self.get_db_hook().get_first(self.sql, self.parameters)
        if record is None:
            raise TaskError(
                f"task {self.task_id!r}: No rows returned from sql query. Operator expected "
                "True or False return value."
            )
        value = record
        if isinstance(record, list | tuple):
            value = record[0][0] if record and isinstance(record[0], list) else record[0]
        elif isinstance(record, dict):
            value = next(iter(record.values()))
        truth = _truth(self.task_id, value)
        print(f"Query returns {value!r}, type {type(value).__name__!r}", flush=True)
        return self.follow_task_ids_if_true if truth else self.follow_task_ids_if_false
