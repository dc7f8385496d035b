"""DiscordNotifier with Discord's embed object: the embed's strings rendered with the context,
the notifier's defaults, an embed past Discord's limits refused by the hook before anything is
sent, and what reached the server."""

import json
import os
import urllib.request

from airflow.providers.discord.hooks.discord_webhook import DiscordWebhookHook
from airflow.providers.discord.notifications.discord import DiscordNotifier
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("prov_discord_embed", schedule=None, start_date=START, catchup=False):

    @task
    def notify(**context):
        DiscordNotifier(
            discord_conn_id="diffsuite_discord_embed",
            text="{{ dag.dag_id }} on {{ ds }}",
            username="bot",
            embed={
                "title": "{{ dag.dag_id }}",
                "description": "run of {{ ds }}",
                "color": 5763719,
                "footer": {"text": "{{ task.task_id }}"},
                "fields": [{"name": "day", "value": "{{ ds_nodash }}", "inline": True}],
            },
        )(context)
        DiscordNotifier(discord_conn_id="diffsuite_discord_embed")(context)

    @task
    def limits(**context):
        for name, embed in {
            "title": {"title": "t" * 257},
            "fields": {"fields": [{"name": "n", "value": "v"}] * 26},
            "value": {"fields": [{"name": "n", "value": "v" * 1025}]},
        }.items():
            try:
                DiscordWebhookHook(
                    http_conn_id="diffsuite_discord_embed", message="x", embed=embed
                ).execute()
                rec(context, name, "sent")
            except Exception as exc:  # which error the hook gives before anything is sent
                rec(context, name, type(exc).__name__)

    @task
    def received(**context):
        base = os.environ["AIRFLOW_CONN_DIFFSUITE_HTTP"]
        with urllib.request.urlopen(f"{base}/inbox/discord-embed-webhooks") as answer:
            for request in json.load(answer):
                rec(context, "request", request)

    notify() >> limits() >> received()
