"""Airflow's discord provider: post to a Discord webhook (``DiscordWebhookHook``,
``DiscordWebhookOperator``, ``DiscordNotifier``), through the http provider's client."""
