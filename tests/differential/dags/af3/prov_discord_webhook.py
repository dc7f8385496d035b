"""Discord's webhooks: the operator's templated fields, the hook with an endpoint of its
own, the refusals (an endpoint of another shape, a message too long), what reached the
server."""

import json
import os
import urllib.request

from airflow.providers.discord.hooks.discord_webhook import DiscordWebhookHook
from airflow.providers.discord.operators.discord_webhook import DiscordWebhookOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("prov_discord_webhook", schedule=None, start_date=START, catchup=False):
    post = DiscordWebhookOperator(
        task_id="post",
        http_conn_id="diffsuite_discord",
        message="run of {{ ds }}",
        username="bot-{{ ds_nodash }}",
        avatar_url="https://example.com/a.png",
        tts=True,
    )

    @task
    def hook(**context):
        DiscordWebhookHook(
            http_conn_id="diffsuite_discord",
            webhook_endpoint="webhooks/222/second-token",
            message="from the hook",
        ).execute()
        for name, kwargs in {
            "endpoint": {"webhook_endpoint": "hooks/333", "message": "x"},
            "too_long": {"message": "x" * 2001},
        }.items():
            try:
                DiscordWebhookHook(http_conn_id="diffsuite_discord", **kwargs).execute()
                rec(context, name, "sent")
            except Exception as exc:  # which error the hook gives before anything is sent
                rec(context, name, type(exc).__name__)

    @task
    def received(**context):
        base = os.environ["AIRFLOW_CONN_DIFFSUITE_HTTP"]
        with urllib.request.urlopen(f"{base}/inbox/discord-webhooks") as answer:
            for request in json.load(answer):
                rec(context, "request", request)

    post >> hook() >> received()
