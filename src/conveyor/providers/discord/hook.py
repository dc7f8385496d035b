"""``DiscordWebhookHook``: post a message to a Discord webhook, as Airflow's.

An ``embed`` (Discord's embed object, a dict) goes as the message's one embed, checked first
against the limits Discord sets (and Airflow's provider checks): a title or an author's or a
field's name of at most 256 characters, a description of 4096, a footer of 2048, at most 25
fields of values of 1024. A longer one is a ``ValueError`` before anything is sent.

The connection (type ``discord``, or an ``http`` one) gives the base URL (host; Discord's
``https://discord.com/api/`` when it has none) and, in its extra, ``webhook_endpoint``
(``webhooks/{id}/{token}``); an endpoint given to the hook wins. The endpoint holds the
webhook's token, so it is masked wherever it shows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from conveyor.providers._extras import require

require("httpx", "discord", "discord")

from conveyor.connections import Connection, masking  # noqa: E402
from conveyor.providers._fields import keep_fields  # noqa: E402
from conveyor.providers._hook import HookNames  # noqa: E402
from conveyor.providers.http.hook import HttpHook, base_url  # noqa: E402

DEFAULT_BASE_URL = "https://discord.com/api/"
ENDPOINT = re.compile(r"^webhooks/[0-9]+/[a-zA-Z0-9_-]+$")
#: What Discord takes in one message.
MAX_LENGTH = 2000
MAX_EMBED_FIELDS = 25
_FIELD_LIMITS = (("name", 256), ("value", 1024))


def validate_embed(embed: Mapping[str, Any]) -> Mapping[str, Any]:
    """``embed`` itself when it keeps within Discord's limits, else a ``ValueError`` naming
    the part that does not."""
    limited = (
        ("title", embed.get("title"), 256),
        ("description", embed.get("description"), 4096),
        ("footer text", (embed.get("footer") or {}).get("text"), 2048),
        ("author name", (embed.get("author") or {}).get("name"), 256),
    )
    for where, value, most in limited:
        if value is not None and len(value) > most:
            raise ValueError(f"Discord embed {where} must be {most} or fewer characters")
    fields = embed.get("fields") or []
    if len(fields) > MAX_EMBED_FIELDS:
        raise ValueError(f"Discord embed fields must be {MAX_EMBED_FIELDS} or fewer items")
    for field in fields:
        for key, most in _FIELD_LIMITS:
            if len(field[key]) > most:
                raise ValueError(f"Discord embed field {key} must be {most} or fewer characters")
    return embed


class DiscordWebhookHook(HttpHook):
    """``DiscordWebhookHook(http_conn_id=, webhook_endpoint=, message=, username=,
    avatar_url=, tts=, proxy=, embed=)``; ``execute()`` posts the message."""

    names = HookNames("http_conn_id", "discord_default", "discord", "Discord")
    conn_types: ClassVar[tuple[str, ...]] = ("discord", "http", "https")

    message: str
    username: str | None
    avatar_url: str | None
    tts: bool
    proxy: str | None
    embed: Mapping[str, Any] | None

    def __init__(
        self,
        http_conn_id: str | None = None,
        webhook_endpoint: str | None = None,
        message: str = "",
        username: str | None = None,
        avatar_url: str | None = None,
        tts: bool = False,
        proxy: str | None = None,
        embed: Mapping[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(method="POST", http_conn_id=http_conn_id or self.default_conn_name)
        self.given_endpoint = webhook_endpoint
        keep_fields(self, DiscordWebhookHook, locals())

    def _set_base_url(self, conn: Connection) -> None:
        self.base_url = base_url(conn, default_host=DEFAULT_BASE_URL, default_scheme="https")

    def _split_extra(
        self, conn: Connection, extra_options: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        headers, options = super()._split_extra(conn, extra_options)
        headers.pop("webhook_endpoint", None)  # the hook's setting, not a header
        return headers, options

    @property
    def webhook_endpoint(self) -> str:
        """The endpoint (given, or the connection's), checked and registered as a secret."""
        found = self.given_endpoint
        if not found:
            found = self._connection().extra_dejson.get("webhook_endpoint", "")
        found = str(found or "").strip().strip("/")
        # A plain ValueError here and for a long message, as Airflow's provider raises.
        if not ENDPOINT.match(found):
            raise ValueError(
                f"connection {self.http_conn_id!r}: expected a Discord webhook endpoint in "
                "the form of 'webhooks/{webhook.id}/{webhook.token}'"
                + ("" if found else " (none given, and the connection's extra has none)")
            )
        masking.register(found)
        masking.register(found.rsplit("/", 1)[-1])
        return found

    def _build_discord_payload(self) -> str:
        if len(self.message) > MAX_LENGTH:
            raise ValueError(
                f"Discord message length must be {MAX_LENGTH} or fewer characters "
                f"(this one has {len(self.message)})."
            )
        payload: dict[str, Any] = {"content": self.message, "tts": self.tts}
        if self.username:
            payload["username"] = self.username
        if self.avatar_url:
            payload["avatar_url"] = self.avatar_url
        if self.embed:
            payload["embeds"] = [validate_embed(self.embed)]
        return json.dumps(payload)

    def execute(self) -> None:
        """Post the message to the webhook."""
        options: dict[str, Any] = {"proxy": self.proxy} if self.proxy else {}
        self.run(
            endpoint=self.webhook_endpoint,
            data=self._build_discord_payload(),
            headers={"Content-type": "application/json"},
            extra_options=options,
        )
