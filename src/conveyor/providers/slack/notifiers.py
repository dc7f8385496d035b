"""Slack notifiers, as Airflow's: callbacks that post when a task or a run ends.

``SlackWebhookNotifier`` (also ``send_slack_webhook_notification``) posts to an incoming
webhook; ``SlackNotifier`` (``send_slack_notification``) calls ``chat.postMessage`` with a
token. Each is a callable taking the context, so it goes wherever a callback goes
(``on_failure_callback=send_slack_webhook_notification(text="{{ ti.task_id }} failed")``);
its templated fields are rendered with that context, and secrets the process read are
masked in the message, which leaves for other eyes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from conveyor.providers._fields import keep_fields
from conveyor.providers._notifier import Notifier
from conveyor.providers.slack.api import SlackApiSettings, SlackHook
from conveyor.providers.slack.operators import ICON_URL, post_message_params
from conveyor.providers.slack.webhook import SlackWebhookHook


class SlackWebhookNotifier(Notifier):
    """Post ``text`` (and ``blocks``, ``attachments``) to the webhook of
    ``slack_webhook_conn_id``."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "slack_webhook_conn_id",
        "text",
        "attachments",
        "blocks",
        "proxy",
        "timeout",
    )
    conn_attr: ClassVar[str] = "slack_webhook_conn_id"

    slack_webhook_conn_id: str
    text: str
    blocks: list[Any] | None
    attachments: list[Any] | None
    unfurl_links: bool | None
    unfurl_media: bool | None
    proxy: str | None
    timeout: float | None

    def __init__(
        self,
        *,
        slack_webhook_conn_id: str = SlackWebhookHook.default_conn_name,
        text: str,
        blocks: list[Any] | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        proxy: str | None = None,
        timeout: float | None = None,
        attachments: list[Any] | None = None,
        retry_handlers: Any = None,
        **kwargs: Any,
    ) -> None:
        keep_fields(self, SlackWebhookNotifier, locals())

    def notify(self, context: dict[str, Any]) -> None:
        found = self.render(context)
        hook = SlackWebhookHook(
            slack_webhook_conn_id=found["slack_webhook_conn_id"],
            proxy=found["proxy"],
            timeout=found["timeout"],
        )
        hook.send(
            text=found["text"],
            blocks=found["blocks"],
            attachments=found["attachments"],
            unfurl_links=self.unfurl_links,
            unfurl_media=self.unfurl_media,
        )


class SlackNotifier(SlackApiSettings, Notifier):
    """Post ``text`` to ``channel`` with ``chat.postMessage`` on ``slack_conn_id``."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "text",
        "channel",
        "username",
        "attachments",
        "blocks",
        "slack_conn_id",
    )
    conn_attr: ClassVar[str] = "slack_conn_id"

    text: str
    channel: str
    username: str
    icon_url: str
    unfurl_links: bool
    unfurl_media: bool

    def __init__(
        self,
        *,
        slack_conn_id: str = SlackHook.default_conn_name,
        text: str = "This is a default message",
        channel: str = "#general",
        username: str = "Airflow",
        icon_url: str = ICON_URL,
        attachments: Sequence[Any] = (),
        blocks: Sequence[Any] = (),
        base_url: str | None = None,
        proxy: str | None = None,
        timeout: float | None = None,
        retry_handlers: Any = None,
        unfurl_links: bool = True,
        unfurl_media: bool = True,
        **kwargs: Any,
    ) -> None:
        keep_fields(self, SlackApiSettings, locals())
        keep_fields(self, SlackNotifier, locals())
        self.attachments = list(attachments)
        self.blocks = list(blocks)

    def notify(self, context: dict[str, Any]) -> None:
        found = self.render(context)
        params = post_message_params(
            found["channel"],
            found["username"],
            found["text"],
            self.icon_url,
            found["attachments"],
            found["blocks"],
        )
        params.update(unfurl_links=self.unfurl_links, unfurl_media=self.unfurl_media)
        self.hook.call("chat.postMessage", json=params)


#: Airflow's lower-case names of the notifiers.
send_slack_webhook_notification = SlackWebhookNotifier
send_slack_notification = SlackNotifier
