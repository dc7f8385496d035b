"""``SlackHook``: Slack's Web API with a token, as Airflow's (``call``, ``chat.postMessage``).

The token is the password of a ``slack`` connection. The API's base URL is
``https://slack.com/api/``, or the hook's ``base_url``, the connection's extra ``base_url``
or its host (a URL, or a host and port reached over https). A method answered with
``"ok": false`` fails with Slack's error code (``channel_not_found``, ...).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from conveyor.providers._extras import require

require("httpx", "slack", "slack")

from conveyor.connections import Connection, get_connection  # noqa: E402
from conveyor.exceptions import TaskError  # noqa: E402
from conveyor.providers._hook import HookNames, ProviderHook  # noqa: E402
from conveyor.providers.http.client import send  # noqa: E402
from conveyor.providers.http.hook import base_url, of_type  # noqa: E402

DEFAULT_BASE_URL = "https://slack.com/api/"
CONN_TYPES = ("slack",)


class SlackApiError(TaskError):
    """Slack answered ``"ok": false``; ``response`` holds what it sent."""

    def __init__(self, message: str, response: SlackResponse) -> None:
        super().__init__(message)
        self.response = response


class SlackResponse(Mapping[str, Any]):
    """What slack_sdk's ``WebClient`` returns: the answer's JSON as ``data`` (and as a
    mapping: ``response["ts"]``, ``response.get("channel")``), ``status_code``, ``headers``."""

    def __init__(self, api_url: str, status_code: int, data: dict[str, Any], headers: Any):
        self.api_url = api_url
        self.status_code = status_code
        self.data = data
        self.headers = headers

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def validate(self) -> SlackResponse:
        return self


class SlackHook(ProviderHook):
    """``SlackHook(slack_conn_id="slack_api_default", base_url=, timeout=, proxy=)``."""

    names = HookNames("slack_conn_id", "slack_api_default", "slack", "Slack API")

    def __init__(
        self,
        *,
        slack_conn_id: str = names.default_conn_name,
        base_url: str | None = None,
        timeout: float | None = None,
        proxy: str | None = None,
        **kwargs: Any,  # slack_sdk's client arguments (retry_handlers, ...): not used
    ) -> None:
        self.slack_conn_id = slack_conn_id
        self.base_url = base_url
        self.timeout = timeout
        self.proxy = proxy

    def _connection(self) -> Connection:
        reads = "SlackHook reads slack connections (the token in the password)"
        conn = of_type(get_connection(self.slack_conn_id), CONN_TYPES, reads)
        if not conn.password:
            raise TaskError(f"connection {conn.conn_id!r} has no Slack API token (password)")
        return conn

    def _api_url(self, conn: Connection) -> str:
        found = self.base_url or conn.extra_dejson.get("base_url")
        if not found and conn.host:
            found = base_url(conn, default_scheme="https")
        return str(found or DEFAULT_BASE_URL)

    def call(
        self,
        api_method: str,
        *,
        json: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        http_verb: str = "POST",
        **kwargs: Any,
    ) -> SlackResponse:
        """Call ``api_method`` (``chat.postMessage``, ...) with a JSON body, a form or a
        query; Slack's ``"ok": false`` raises ``SlackApiError``."""
        conn = self._connection()
        url = self._api_url(conn).rstrip("/") + "/" + api_method
        request: dict[str, Any] = {"params": params} if params else {}
        if json is not None:
            request["json"] = dict(json)
        elif data is not None:
            request["data"] = dict(data)
        options = {
            "timeout": self.timeout or conn.extra_dejson.get("timeout"),
            "proxy": self.proxy or conn.extra_dejson.get("proxy"),
        }
        answer = send(
            http_verb.upper(),
            url,
            conn_id=conn.conn_id,
            options=options,
            headers={"Authorization": f"Bearer {conn.password}"},
            **request,
        )
        try:
            body = answer.json()
        except ValueError:
            body = {"ok": False, "error": f"not JSON (status {answer.status_code})"}
        response = SlackResponse(url, answer.status_code, body, answer.headers)
        if not body.get("ok"):
            raise SlackApiError(
                f"connection {conn.conn_id!r}: Slack's {api_method} failed: "
                f"{body.get('error', 'no error given')} (status {answer.status_code})",
                response,
            )
        return response

    def get_conn(self) -> SlackHook:
        return self


class SlackApiSettings:
    """What a Slack operator or notifier keeps to reach the Web API (its ``__init__`` calls
    ``keep_fields(self, SlackApiSettings, locals())``), and the ``SlackHook`` made from it."""

    slack_conn_id: str
    base_url: str | None
    proxy: str | None
    timeout: float | None

    @property
    def hook(self) -> SlackHook:
        return SlackHook(
            slack_conn_id=self.slack_conn_id,
            base_url=self.base_url,
            proxy=self.proxy,
            timeout=self.timeout,
        )
