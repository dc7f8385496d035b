"""``SlackWebhookHook``: post a message to a Slack incoming webhook, as Airflow's does.

The connection (type ``slackwebhook``; Airflow's older files use an ``http`` one) gives the
URL: its password when that holds ``://``, else the base URL (host, default
``https://hooks.slack.com/services``) joined with the token in its password, or with no
password the URL the connection itself names (``slackwebhook://hooks.slack.com/services/
T0/B0/XX`` as a URI, whose path is masked). An answer other than 200 fails with the status
and the body Slack sent, never the URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from conveyor.providers._extras import require

require("httpx", "slack", "slack")

from conveyor.connections import Connection, get_connection, masking  # noqa: E402
from conveyor.exceptions import AirflowException, TaskError  # noqa: E402
from conveyor.providers._hook import HookNames, ProviderHook  # noqa: E402
from conveyor.providers.http.client import send  # noqa: E402
from conveyor.providers.http.hook import base_url, of_type  # noqa: E402

DEFAULT_HOST = "hooks.slack.com/services"
#: The connection types a webhook is read from.
CONN_TYPES = ("slackwebhook", "slack_webhook", "http", "https")


@dataclass(frozen=True)
class WebhookResponse:
    """What slack_sdk's ``WebhookClient`` returns: ``status_code``, ``body`` (text),
    ``headers``; ``api_url`` is the webhook's URL (a secret)."""

    api_url: str = field(repr=False)
    status_code: int
    body: str
    headers: dict[str, str]

    @property
    def url(self) -> str:
        return self.api_url


class SlackWebhookHook(ProviderHook):
    """``SlackWebhookHook(slack_webhook_conn_id=..., timeout=, proxy=)``; Airflow's older
    ``http_conn_id=`` and ``webhook_token=`` are read too."""

    names = HookNames(
        "slack_webhook_conn_id", "slack_default", "slackwebhook", "Slack Incoming Webhook"
    )

    def __init__(
        self,
        *,
        slack_webhook_conn_id: str | None = None,
        http_conn_id: str | None = None,
        webhook_token: str | None = None,
        timeout: float | None = None,
        proxy: str | None = None,
        **kwargs: Any,  # slack_sdk's client arguments (retry_handlers, ...): not used
    ) -> None:
        self.slack_webhook_conn_id = slack_webhook_conn_id or http_conn_id or self.default_conn_name
        self.webhook_token = webhook_token
        self.timeout = timeout
        self.proxy = proxy

    def _connection(self) -> Connection:
        reads = f"SlackWebhookHook reads {', '.join(CONN_TYPES)} connections"
        return of_type(get_connection(self.slack_webhook_conn_id), CONN_TYPES, reads)

    def webhook_url(self, conn: Connection | None = None) -> str:
        """The webhook's URL, registered as a secret of this try (it is one)."""
        conn = conn or self._connection()
        token = (self.webhook_token or conn.password or "").strip()
        if "://" in token:
            url = token
        else:
            base = base_url(conn, default_host=DEFAULT_HOST, default_scheme="https")
            url = base.rstrip("/") + ("/" + token.lstrip("/") if token else "")
        path = urlsplit(url).path.strip("/")
        if path in ("", "services"):  # a base URL without the webhook's own part
            raise TaskError(
                f"connection {conn.conn_id!r} holds no Slack webhook: put the webhook's token "
                "(T.../B.../...) or its whole URL in the password"
            )
        masking.register(url)
        masking.register(path)
        return url

    def get_conn(self) -> str:
        return self.webhook_url()

    def send_dict(
        self, body: dict[str, Any] | str, *, headers: dict[str, str] | None = None
    ) -> WebhookResponse:
        """Post ``body`` (a dict, or JSON text) as it is."""
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except json.JSONDecodeError as exc:
                raise TaskError(f"Body expected valid JSON string, got {body!r}: {exc}") from None
        if not isinstance(body, dict):
            raise TaskError(f"Body expected dictionary, got {type(body).__name__}.")
        conn = self._connection()
        options = {"timeout": self.timeout or conn.extra_dejson.get("timeout"), "proxy": self.proxy}
        if options["proxy"] is None:
            options["proxy"] = conn.extra_dejson.get("proxy")
        url = self.webhook_url(conn)
        response = send(
            "POST",
            url,
            conn_id=conn.conn_id,
            options=options,
            headers={"Content-Type": "application/json;charset=utf-8", **(headers or {})},
            content=json.dumps(body),
        )
        found = WebhookResponse(url, response.status_code, response.text, dict(response.headers))
        if found.status_code != 200:
            raise AirflowException(
                f"connection {conn.conn_id!r}: Slack webhook answered {found.status_code} "
                f"with body {masking.redact(found.body)!r}"
            )
        return found

    def send(
        self,
        *,
        text: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        headers: dict[str, str] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> WebhookResponse:
        """Post a message; arguments left ``None`` are not sent. ``channel``, ``username``,
        ``icon_emoji`` and ``icon_url`` are sent for legacy webhooks, which read them."""
        body = {
            "text": text,
            "attachments": attachments,
            "blocks": blocks,
            "response_type": response_type,
            "replace_original": replace_original,
            "delete_original": delete_original,
            "unfurl_links": unfurl_links,
            "unfurl_media": unfurl_media,
            **kwargs,
        }
        return self.send_dict({k: v for k, v in body.items() if v is not None}, headers=headers)

    def send_text(
        self,
        text: str,
        *,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        headers: dict[str, str] | None = None,
    ) -> WebhookResponse:
        return self.send(
            text=text, unfurl_links=unfurl_links, unfurl_media=unfurl_media, headers=headers
        )
