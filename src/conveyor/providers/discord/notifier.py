"""``DiscordNotifier`` (``send_discord_notification``): a callback that posts to a Discord
webhook when a task or a run ends, as Airflow's. ``discord_conn_id``, ``text``,
``username``, ``avatar_url``, ``tts`` and ``embed`` (Discord's embed object, each string in
it) are rendered with the callback's context."""

from __future__ import annotations

from typing import Any, ClassVar

from conveyor.providers._fields import keep_fields
from conveyor.providers._notifier import Notifier
from conveyor.providers.discord.hook import DiscordWebhookHook

ICON_URL = "https://raw.githubusercontent.com/apache/airflow/main/airflow-core/src/airflow/ui/public/pin_100.png"


class DiscordNotifier(Notifier):
    template_fields: ClassVar[tuple[str, ...]] = (
        "discord_conn_id",
        "text",
        "username",
        "avatar_url",
        "tts",
        "embed",
    )
    conn_attr: ClassVar[str] = "discord_conn_id"

    discord_conn_id: str
    text: str
    username: str
    avatar_url: str
    tts: bool
    embed: dict[str, Any] | None

    def __init__(
        self,
        discord_conn_id: str = "discord_webhook_default",
        text: str = "",
        username: str = "Airflow",
        avatar_url: str = ICON_URL,
        tts: bool = False,
        embed: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        keep_fields(self, DiscordNotifier, locals())

    def notify(self, context: dict[str, Any]) -> None:
        found = self.render(context)
        DiscordWebhookHook(
            http_conn_id=found["discord_conn_id"],
            message=found["text"],
            username=found["username"],
            avatar_url=found["avatar_url"],
            tts=found["tts"],
            embed=found["embed"],
        ).execute()


#: Airflow's lower-case name of the notifier.
send_discord_notification = DiscordNotifier
