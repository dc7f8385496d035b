"""``HttpOperator`` (Airflow's older name: ``SimpleHttpOperator``): one request as a task.

The task's XCom is the response's text, or what ``response_filter`` returns; a
``response_check`` that returns false fails the try. Both callables get the response first
and, by name, any context entries they ask for, as in Airflow. With ``pagination_function``
the request is repeated while it returns the next page's arguments, and the callables get the
list of responses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from conveyor.exceptions import TaskError
from conveyor.model.task import BaseOperator
from conveyor.operators.python import context_arguments
from conveyor.providers._fields import keep_fields
from conveyor.providers.http.client import HttpResponse, ResponseCheckFailed
from conveyor.providers.http.hook import HttpHook

#: Airflow's arguments that tune its requests session or its triggerer: nothing to do here.
_IGNORED = (
    "tcp_keep_alive_idle",
    "tcp_keep_alive_count",
    "tcp_keep_alive_interval",
    "deferrable",
    "warn_on_non_idempotent",
    "poll_interval",
)


def call_with_context(func: Callable[..., Any], first: Any, context: dict[str, Any]) -> Any:
    """``func(first, **the context entries it names)``: how Airflow calls these callables."""
    return func(first, **context_arguments(func, context, (), 1))


class HttpOperator(BaseOperator):
    """Send ``method`` to ``endpoint`` on ``http_conn_id``; templated: ``endpoint``,
    ``data``, ``headers``, ``http_conn_id``."""

    template_fields: ClassVar[tuple[str, ...]] = ("endpoint", "data", "headers", "http_conn_id")
    ui_color = "#f4a460"

    http_conn_id: str
    method: str
    endpoint: str | None
    pagination_function: Callable[..., Any] | None
    response_check: Callable[..., bool] | None
    response_filter: Callable[..., Any] | None
    log_response: bool
    auth_type: Any

    def __init__(
        self,
        task_id: str,
        *,
        endpoint: str | None = None,
        method: str = "POST",
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        pagination_function: Callable[..., Any] | None = None,
        response_check: Callable[..., bool] | None = None,
        response_filter: Callable[..., Any] | None = None,
        extra_options: Mapping[str, Any] | None = None,
        request_kwargs: Mapping[str, Any] | None = None,
        http_conn_id: str = "http_default",
        log_response: bool = False,
        auth_type: Any = None,
        tcp_keep_alive: bool = True,
        retry_args: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        for name in _IGNORED:
            kwargs.pop(name, None)
        super().__init__(task_id, **kwargs)
        for name, given in (
            ("response_check", response_check),
            ("response_filter", response_filter),
            ("pagination_function", pagination_function),
        ):
            if given is not None and not callable(given):
                raise TaskError(f"task {task_id!r}: {name}= must be callable, got {given!r}")
        keep_fields(self, HttpOperator, locals())
        self.headers = dict(headers or {})
        self.data = data if data is not None else {}
        self.extra_options = dict(extra_options or {})
        self.request_kwargs = dict(request_kwargs or {})
        self.retry_args = dict(retry_args) if retry_args else None

    @property
    def hook(self) -> HttpHook:
        return HttpHook(self.method, http_conn_id=self.http_conn_id, auth_type=self.auth_type)

    def _request(self, hook: HttpHook, **arguments: Any) -> HttpResponse:
        call = {**arguments, **self.request_kwargs}
        if self.retry_args:
            found: HttpResponse = hook.run_with_advanced_retry(self.retry_args, **call)
            return found
        return hook.run(**call)

    def execute(self, context: dict[str, Any]) -> Any:
        hook = self.hook
        first = {
            "endpoint": self.endpoint,
            "data": self.data,
            "headers": self.headers,
            "extra_options": self.extra_options,
        }
        response = self._request(hook, **first)
        responses = [response]
        while self.pagination_function is not None:
            following = self.pagination_function(responses[-1])
            if not following:
                break
            responses.append(self._request(hook, **_merge(first, following)))
        result: Any = responses if self.pagination_function is not None else response
        return self.process_response(context, result)

    def process_response(self, context: dict[str, Any], response: Any) -> Any:
        """Log, check and filter the response as Airflow does; the XCom value."""
        texts = [r.text for r in response] if isinstance(response, list) else response.text
        if self.log_response:
            print(texts, flush=True)
        check = self.response_check
        if check is not None and not call_with_context(check, response, context):
            raise ResponseCheckFailed(f"task {self.task_id!r}: Response check returned False.")
        if self.response_filter is not None:
            return call_with_context(self.response_filter, response, context)
        return texts


def _merge(first: dict[str, Any], following: Mapping[str, Any]) -> dict[str, Any]:
    """The next page's arguments: dicts merged (the page's keys win), the rest replaced."""
    merged = dict(first)
    for key, value in following.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


class SimpleHttpOperator(HttpOperator):
    """Airflow's older name of ``HttpOperator``."""
