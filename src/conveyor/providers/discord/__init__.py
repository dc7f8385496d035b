"""Airflow's discord provider: post to a Discord webhook (``DiscordWebhookHook``,
``DiscordWebhookOperator``, ``DiscordNotifier``), through the http provider's client."""

from __future__ import annotations

from conveyor.providers.declaration import ConnectionType, FormField, Provider, same_names

_D = "conveyor.providers.discord"
_DISCORD_HOOK = same_names(f"{_D}.hook", "DiscordWebhookHook")
_DISCORD_OPERATOR = same_names(f"{_D}.operator", "DiscordWebhookOperator")

PROVIDER = Provider(
    name="discord",
    extra="discord",  # httpx
    connection_types=(
        ConnectionType(
            "discord",
            f"{_D}.hook:DiscordWebhookHook",
            "Discord webhook",
            testable=True,
            fields=(FormField("host", "Host", "https://discord.com/api/"),),
            hidden=("port", "login", "schema"),
            extras=(FormField("webhook_endpoint", "Webhook endpoint", "webhooks/{id}/{token}"),),
        ),
    ),
    airflow_modules={
        "airflow.providers.discord.hooks.discord_webhook": _DISCORD_HOOK,
        "airflow.providers.discord.operators.discord_webhook": _DISCORD_OPERATOR,
        "airflow.providers.discord.notifications.discord": same_names(
            f"{_D}.notifier", "DiscordNotifier", "send_discord_notification"
        ),
        "airflow.contrib.hooks.discord_webhook_hook": _DISCORD_HOOK,
        "airflow.contrib.operators.discord_webhook_operator": _DISCORD_OPERATOR,
    },
)
