"""``DiscordNotifier`` (``send_discord_notification``): a callback that posts to a Discord
webhook when a task or a run ends, as Airflow's. ``discord_conn_id``, ``text``,
``username``, ``avatar_url`` and ``tts`` are rendered with the callback's context."""

from __future__ import annotations

from typing import Any, ClassVar

from conveyor.exceptions import TaskError
from conveyor.providers._fields import keep_fields
from conveyor.providers._notifier import Notifier
from conveyor.providers.discord.hook import DiscordWebhookHook

#: Arguments of Airflow's DiscordNotifier that Conveyor's webhook does not send.
_NOT_SENT = frozenset({"embed"})

ICON_URL = "https://raw.githubusercontent.com/apache/airflow/main/airflow-core/src/airflow/ui/public/pin_100.png"


class DiscordNotifier(Notifier):
    template_fields: ClassVar[tuple[str, ...]] = (
        "discord_conn_id",
        "text",
        "username",
        "avatar_url",
        "tts",
    )
    conn_attr: ClassVar[str] = "discord_conn_id"

    discord_conn_id: str
    text: str
    username: str
    avatar_url: str
    tts: bool

    def __init__(
        self,
        discord_conn_id: str = "discord_webhook_default",
        text: str = "This is a default message",
        username: str = "Airflow",
        avatar_url: str = ICON_URL,
        tts: bool = False,
        **kwargs: Any,
    ) -> None:
        keep_fields(self, DiscordNotifier, locals())
        # Airflow's newer providers take these; sending without them would drop them silently.
        self.unsupported = sorted(set(kwargs) & _NOT_SENT)

    def notify(self, context: dict[str, Any]) -> None:
        if self.unsupported:
            raise TaskError(
                f"DiscordNotifier: {', '.join(self.unsupported)} is not supported by Conveyor: "
                "put what it says in text"
            )
        found = self.render(context)
        DiscordWebhookHook(
            http_conn_id=found["discord_conn_id"],
            message=found["text"],
            username=found["username"],
            avatar_url=found["avatar_url"],
            tts=found["tts"],
        ).execute()


#: Airflow's lower-case name of the notifier.
send_discord_notification = DiscordNotifier
