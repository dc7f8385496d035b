"""Slack's operators, as Airflow's: ``SlackWebhookOperator`` posts to an incoming webhook,
``SlackAPIPostOperator`` calls ``chat.postMessage`` with a token (``SlackAPIOperator`` any
method, with ``api_params``)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from conveyor.exceptions import TaskError
from conveyor.model.task import BaseOperator
from conveyor.providers._fields import keep_fields
from conveyor.providers.slack.api import SlackApiSettings, SlackHook
from conveyor.providers.slack.webhook import SlackWebhookHook

ICON_URL = "https://raw.githubusercontent.com/apache/airflow/main/airflow-core/src/airflow/ui/public/pin_100.png"


class SlackWebhookOperator(BaseOperator):
    """Post ``message`` (and ``blocks``, ``attachments``) to the webhook of
    ``slack_webhook_conn_id`` (Airflow 1.10's ``http_conn_id`` and ``webhook_token`` too).
    Templated: ``message``, ``attachments``, ``blocks``, ``channel``, ``username``, ``proxy``,
    ``slack_webhook_conn_id``."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "message",
        "attachments",
        "blocks",
        "channel",
        "username",
        "proxy",
        "slack_webhook_conn_id",
    )
    ui_color = "#FFBA40"

    webhook_token: str | None
    message: str
    attachments: list[Any] | None
    blocks: list[Any] | None
    channel: str | None
    username: str | None
    icon_emoji: str | None
    icon_url: str | None
    link_names: bool
    proxy: str | None
    timeout: float | None

    def __init__(
        self,
        task_id: str,
        *,
        slack_webhook_conn_id: str | None = None,
        http_conn_id: str | None = None,
        webhook_token: str | None = None,
        message: str = "",
        attachments: list[Any] | None = None,
        blocks: list[Any] | None = None,
        channel: str | None = None,
        username: str | None = None,
        icon_emoji: str | None = None,
        icon_url: str | None = None,
        link_names: bool = False,
        proxy: str | None = None,
        timeout: float | None = None,
        retry_handlers: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.slack_webhook_conn_id = slack_webhook_conn_id or http_conn_id
        if not self.slack_webhook_conn_id:
            raise TaskError(f"task {task_id!r}: SlackWebhookOperator needs slack_webhook_conn_id")
        keep_fields(self, SlackWebhookOperator, locals())

    @property
    def hook(self) -> SlackWebhookHook:
        return SlackWebhookHook(
            slack_webhook_conn_id=self.slack_webhook_conn_id,
            webhook_token=self.webhook_token,
            proxy=self.proxy,
            timeout=self.timeout,
        )

    def execute(self, context: dict[str, Any]) -> None:
        self.hook.send(
            text=self.message,
            attachments=self.attachments,
            blocks=self.blocks,
            channel=self.channel,
            username=self.username,
            icon_emoji=self.icon_emoji,
            icon_url=self.icon_url,
            link_names=1 if self.link_names else None,
        )


class SlackAPIOperator(SlackApiSettings, BaseOperator):
    """Call Slack's Web API ``method`` with ``api_params`` on ``slack_conn_id``; the XCom is
    the answer's JSON."""

    template_fields: ClassVar[tuple[str, ...]] = ("slack_conn_id",)

    def __init__(
        self,
        task_id: str,
        *,
        slack_conn_id: str = SlackHook.default_conn_name,
        method: str | None = None,
        api_params: dict[str, Any] | None = None,
        base_url: str | None = None,
        proxy: str | None = None,
        timeout: float | None = None,
        retry_handlers: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, SlackApiSettings, locals())
        self.method = method
        self.api_params = api_params

    def construct_api_call_params(self) -> Any:
        """Subclasses set ``api_params`` here from their own arguments."""

    def execute(self, context: dict[str, Any]) -> Any:
        if not self.method:
            raise TaskError(f"task {self.task_id!r}: {type(self).__name__} needs a method")
        if not self.api_params:
            self.construct_api_call_params()
        return self.hook.call(self.method, json=self.api_params).data


class SlackAPIPostOperator(SlackAPIOperator):
    """Post ``text`` (and ``blocks``, ``attachments``) to ``channel`` with
    ``chat.postMessage``. Templated: ``username``, ``text``, ``attachments``, ``blocks``,
    ``channel``, ``thread_ts``, ``slack_conn_id``."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "username",
        "text",
        "attachments",
        "blocks",
        "channel",
        "thread_ts",
        "slack_conn_id",
    )
    ui_color = "#FFBA40"

    channel: str
    username: str
    text: str
    icon_url: str
    thread_ts: str | None

    def __init__(
        self,
        task_id: str,
        *,
        channel: str = "#general",
        username: str = "Airflow",
        text: str = "No message has been set.",
        icon_url: str = ICON_URL,
        blocks: list[Any] | None = None,
        attachments: list[Any] | None = None,
        thread_ts: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("method", "chat.postMessage")
        super().__init__(task_id, **kwargs)
        keep_fields(self, SlackAPIPostOperator, locals())
        self.attachments = attachments or []
        self.blocks = blocks or []

    def construct_api_call_params(self) -> Any:
        self.api_params = post_message_params(
            self.channel, self.username, self.text, self.icon_url, self.attachments, self.blocks
        )
        if self.thread_ts is not None:
            self.api_params["thread_ts"] = self.thread_ts


def post_message_params(
    channel: str, username: str, text: str, icon_url: str, attachments: Any, blocks: Any
) -> dict[str, Any]:
    """``chat.postMessage``'s arguments as Airflow sends them (blocks and attachments as
    JSON text, which Slack reads)."""
    return {
        "channel": channel,
        "username": username,
        "text": text,
        "icon_url": icon_url,
        "attachments": json.dumps(list(attachments)),
        "blocks": json.dumps(list(blocks)),
    }
