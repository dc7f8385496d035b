"""``DiscordWebhookOperator``: post a message to a Discord webhook, as Airflow's. Templated:
``username``, ``message``, ``webhook_endpoint``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from conveyor.exceptions import AirflowException
from conveyor.model.task import BaseOperator
from conveyor.providers._fields import keep_fields
from conveyor.providers.discord.hook import DiscordWebhookHook


class DiscordWebhookOperator(BaseOperator):
    template_fields: ClassVar[Sequence[str]] = ("username", "message", "webhook_endpoint")
    ui_color = "#5865F2"

    webhook_endpoint: str | None
    message: str
    username: str | None
    avatar_url: str | None
    tts: bool
    proxy: str | None

    def __init__(
        self,
        task_id: str,
        *,
        http_conn_id: str | None = None,
        webhook_endpoint: str | None = None,
        message: str = "",
        username: str | None = None,
        avatar_url: str | None = None,
        tts: bool = False,
        proxy: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        if not http_conn_id:  # as Airflow's: no default connection, the DAG is refused
            raise AirflowException(
                f"DiscordWebhookOperator {task_id!r}: No valid Discord http_conn_id supplied."
            )
        self.http_conn_id = http_conn_id
        keep_fields(self, DiscordWebhookOperator, locals())

    @property
    def hook(self) -> DiscordWebhookHook:
        return DiscordWebhookHook(
            self.http_conn_id,
            self.webhook_endpoint,
            self.message,
            self.username,
            self.avatar_url,
            self.tts,
            self.proxy,
        )

    def execute(self, context: dict[str, Any]) -> None:
        self.hook.execute()
