"""Airflow's Athena hook, operator and sensor: ``AthenaHook``, ``AthenaOperator`` (run a
query, wait for its end; its XCom is the query execution id) and ``AthenaSensor`` (wait for
a query started elsewhere)."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from conveyor.exceptions import TaskError
from conveyor.providers.amazon._operator import (
    AwsBaseOperator,
    AwsBaseSensor,
    aws_template_fields,
)
from conveyor.providers.amazon.base_aws import AwsBaseHook, names_the_connection


class AthenaHook(AwsBaseHook):
    """``get_conn()`` is boto3's Athena client; ``sleep_time`` is the poll interval."""

    INTERMEDIATE_STATES = ("QUEUED", "RUNNING")
    FAILURE_STATES = ("FAILED", "CANCELLED")
    SUCCESS_STATES = ("SUCCEEDED",)
    TERMINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")

    def __init__(
        self, *args: Any, sleep_time: int | None = None, log_query: bool = True, **kwargs: Any
    ) -> None:
        kwargs["client_type"] = "athena"
        super().__init__(*args, **kwargs)
        self.sleep_time = 30 if sleep_time is None else sleep_time
        self.log_query = log_query

    @names_the_connection
    def run_query(
        self,
        query: str,
        query_context: dict[str, str],
        result_configuration: dict[str, Any],
        client_request_token: str | None = None,
        workgroup: str = "primary",
    ) -> str:
        """Start the query; its execution id."""
        params: dict[str, Any] = {
            "QueryString": query,
            "QueryExecutionContext": query_context,
            "ResultConfiguration": result_configuration,
            "WorkGroup": workgroup,
        }
        if client_request_token:
            params["ClientRequestToken"] = client_request_token
        if self.log_query:
            print(f"Running Query {query}", flush=True)
        return str(self.get_conn().start_query_execution(**params)["QueryExecutionId"])

    def get_query_info(self, query_execution_id: str, use_cache: bool = False) -> Any:
        return self.get_conn().get_query_execution(QueryExecutionId=query_execution_id)

    @names_the_connection
    def check_query_status(self, query_execution_id: str, use_cache: bool = False) -> str | None:
        """The query's state (``QUEUED``, ``RUNNING``, ``SUCCEEDED``, ``FAILED``...)."""
        answer = self.get_query_info(query_execution_id)
        state = answer["QueryExecution"]["Status"].get("State")
        return str(state) if state else None

    def get_state_change_reason(self, query_execution_id: str, use_cache: bool = False) -> Any:
        answer = self.get_query_info(query_execution_id)
        return answer["QueryExecution"]["Status"].get("StateChangeReason")

    @names_the_connection
    def get_query_results(
        self, query_execution_id: str, next_token_id: str | None = None, max_results: int = 1000
    ) -> Any:
        """The finished query's result page (None while it runs or when it failed)."""
        state = self.check_query_status(query_execution_id)
        if state is None or state not in self.SUCCESS_STATES:
            self.log.error("Query is in %s state. Cannot fetch results", state)
            return None
        params: dict[str, Any] = {
            "QueryExecutionId": query_execution_id,
            "MaxResults": max_results,
        }
        if next_token_id:
            params["NextToken"] = next_token_id
        return self.get_conn().get_query_results(**params)

    def poll_query_status(
        self,
        query_execution_id: str,
        max_polling_attempts: int | None = None,
        sleep_time: int | None = None,
    ) -> str | None:
        """Polls until the query ends or ``max_polling_attempts`` ran out; its last state."""
        delay = self.sleep_time if sleep_time is None else sleep_time
        attempt = 0
        while True:
            attempt += 1
            state = self.check_query_status(query_execution_id)
            print(f"Athena query {query_execution_id}: {state}", flush=True)
            if state in self.TERMINAL_STATES:
                return state
            if max_polling_attempts is not None and attempt >= max_polling_attempts:
                return state
            time.sleep(delay)

    def get_output_location(self, query_execution_id: str) -> str:
        answer = self.get_query_info(query_execution_id)
        return str(answer["QueryExecution"]["ResultConfiguration"]["OutputLocation"])


class AthenaOperator(AwsBaseOperator[AthenaHook]):
    """Run ``query`` in ``database`` (results to ``output_location``) and wait for it."""

    aws_hook_class = AthenaHook
    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields(
        "query", "database", "output_location", "workgroup", "catalog"
    )
    template_ext = (".sql",)
    ui_color = "#44b5e2"

    def __init__(
        self,
        task_id: str,
        *,
        query: str,
        database: str | None = None,
        output_location: str | None = None,
        client_request_token: str | None = None,
        workgroup: str = "primary",
        query_execution_context: dict[str, str] | None = None,
        result_configuration: dict[str, Any] | None = None,
        sleep_time: int = 30,
        max_polling_attempts: int | None = None,
        max_tries: int | None = None,
        log_query: bool = True,
        catalog: str = "AwsDataCatalog",
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.query = query
        self.database = database
        self.output_location = output_location
        self.client_request_token = client_request_token
        self.workgroup = workgroup
        self.query_execution_context = dict(query_execution_context or {})
        self.result_configuration = dict(result_configuration or {})
        self.sleep_time = sleep_time
        # max_tries: Airflow 1.10's name.
        self.max_polling_attempts = max_polling_attempts or max_tries
        self.log_query = log_query
        self.catalog = catalog
        self.query_execution_id: str | None = None

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        return {"log_query": self.log_query, "sleep_time": self.sleep_time}

    def execute(self, context: dict[str, Any]) -> str:
        if self.database:
            self.query_execution_context["Database"] = self.database
        if self.catalog:
            self.query_execution_context["Catalog"] = self.catalog
        if self.output_location:
            self.result_configuration["OutputLocation"] = self.output_location
        hook = self.hook
        qid = hook.run_query(
            self.query,
            self.query_execution_context,
            self.result_configuration,
            self.client_request_token,
            self.workgroup,
        )
        self.query_execution_id = qid
        state = hook.poll_query_status(qid, self.max_polling_attempts, self.sleep_time)
        if state in AthenaHook.FAILURE_STATES:
            reason = hook.get_state_change_reason(qid)
            raise TaskError(
                f"Final state of Athena job is {state}, query_execution_id is {qid}. "
                f"Error: {reason}"
            )
        if not state or state in AthenaHook.INTERMEDIATE_STATES:
            raise TaskError(
                f"Final state of Athena job is {state}. Max tries of poll status exceeded, "
                f"query_execution_id is {qid}."
            )
        return qid

    def on_kill(self) -> None:
        if self.query_execution_id:
            self.hook.get_conn().stop_query_execution(QueryExecutionId=self.query_execution_id)


class AthenaSensor(AwsBaseSensor[AthenaHook]):
    """Wait until the query ``query_execution_id`` succeeded; a failed one fails the task."""

    aws_hook_class = AthenaHook
    template_fields: ClassVar[tuple[str, ...]] = aws_template_fields("query_execution_id")
    INTERMEDIATE_STATES = AthenaHook.INTERMEDIATE_STATES
    FAILURE_STATES = AthenaHook.FAILURE_STATES
    SUCCESS_STATES = AthenaHook.SUCCESS_STATES
    ui_color = "#66c3ff"

    def __init__(
        self,
        task_id: str,
        *,
        query_execution_id: str,
        max_retries: int | None = None,
        sleep_time: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.query_execution_id = query_execution_id
        self.max_retries = max_retries
        self.sleep_time = sleep_time

    def poke(self, context: dict[str, Any]) -> bool:
        state = self.hook.poll_query_status(self.query_execution_id, self.max_retries or 1, 0)
        if state in self.FAILURE_STATES:
            raise TaskError(f"Athena sensor failed: query {self.query_execution_id} is {state}")
        return state not in self.INTERMEDIATE_STATES


#: Airflow 1.10's and the early provider's names.
AWSAthenaHook = AthenaHook
AWSAthenaOperator = AthenaOperator
