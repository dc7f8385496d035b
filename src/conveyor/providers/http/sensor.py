"""``HttpSensor``: poke an endpoint until it answers, or until ``response_check`` says done.

A poke that gets a status in ``response_error_codes_allowlist`` (``404`` by default) is "not
yet"; another 4xx or 5xx fails the try, as in Airflow. Works in poke and reschedule modes
like every Conveyor sensor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from conveyor.providers._fields import keep_fields
from conveyor.providers.http.client import HttpStatusError
from conveyor.providers.http.hook import HttpHook
from conveyor.providers.http.operator import call_with_context
from conveyor.sensors.base import BaseSensor


class HttpSensor(BaseSensor):
    """Wait for ``endpoint`` on ``http_conn_id``; templated: ``endpoint``,
    ``request_params``, ``headers``, ``http_conn_id``."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "endpoint",
        "request_params",
        "headers",
        "http_conn_id",
    )

    endpoint: str
    http_conn_id: str
    method: str
    response_check: Callable[..., Any] | None

    def __init__(
        self,
        task_id: str,
        *,
        endpoint: str,
        http_conn_id: str = "http_default",
        method: str = "GET",
        request_params: Mapping[str, Any] | None = None,
        request_kwargs: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        response_error_codes_allowlist: list[str] | None = None,
        response_check: Callable[..., Any] | None = None,
        extra_options: Mapping[str, Any] | None = None,
        tcp_keep_alive: bool = True,
        **kwargs: Any,
    ) -> None:
        for name in ("tcp_keep_alive_idle", "tcp_keep_alive_count", "tcp_keep_alive_interval"):
            kwargs.pop(name, None)
        super().__init__(task_id, **kwargs)
        keep_fields(self, HttpSensor, locals())
        self.request_params = dict(request_params or {})
        self.request_kwargs = dict(request_kwargs or {})
        self.headers = dict(headers or {})
        self.allowlist = [str(code) for code in (response_error_codes_allowlist or ["404"])]
        self.extra_options = dict(extra_options or {})

    def poke(self, context: dict[str, Any]) -> Any:
        hook = HttpHook(method=self.method, http_conn_id=self.http_conn_id)
        print(f"Poking: {self.endpoint}", flush=True)
        try:
            response = hook.run(
                self.endpoint,
                data=self.request_params,
                headers=self.headers,
                extra_options=self.extra_options,
                **self.request_kwargs,
            )
        except HttpStatusError as exc:
            if str(exc.response.status_code) in self.allowlist:
                return False
            raise
        if self.response_check is not None:
            return call_with_context(self.response_check, response, context)
        return True
