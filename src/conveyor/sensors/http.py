"""``HttpSensor``: waits until an HTTP endpoint answers as expected."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from typing import Any, ClassVar

from conveyor.connections import get_connection
from conveyor.exceptions import DagDefinitionError
from conveyor.sensors.base import BaseSensor


class HttpSensor(BaseSensor):
    """Done when a GET of ``url`` (or the ``conn_id`` connection's base URL + ``endpoint``)
    answers with a 2xx status and, if ``response_check`` is given (a regular expression),
    a body that matches it. Connection refused, timeouts and other statuses mean "not yet"."""

    template_fields: ClassVar[tuple[str, ...]] = ("url", "endpoint", "response_check")

    def __init__(
        self,
        task_id: str,
        *,
        url: str | None = None,
        conn_id: str | None = None,
        endpoint: str = "",
        response_check: str | None = None,
        headers: dict[str, str] | None = None,
        request_timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        if (conn_id is None) == (url is None):
            raise DagDefinitionError(f"task {self.task_id!r}: give one of conn_id or url")
        self.url = url
        self.conn_id = conn_id
        self.endpoint = endpoint
        self.response_check = response_check
        self.headers = dict(headers or {})
        self.request_timeout = request_timeout

    def _target(self) -> str:
        base = self.url or get_connection(str(self.conn_id)).get_uri()
        if not self.endpoint:
            return base
        return base.rstrip("/") + "/" + self.endpoint.lstrip("/")

    def poke(self, context: dict[str, Any]) -> Any:
        target = self._target()
        request = urllib.request.Request(target, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=self.request_timeout) as response:
                status, body = response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            print(f"[conveyor] {self.task_id}: GET {target}: {exc.code}", flush=True)
            return False
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            print(f"[conveyor] {self.task_id}: GET {target}: {exc}", flush=True)
            return False
        print(f"[conveyor] {self.task_id}: GET {target}: {status}", flush=True)
        if self.response_check and not re.search(self.response_check, body):
            return False
        return 200 <= status < 300
