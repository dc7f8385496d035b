"""Slack's incoming webhooks: the operator's templated fields, the hook's send forms and
answer, a webhook that is gone, and what reached the server."""

import json
import os
import urllib.request

from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook
from airflow.providers.slack.operators.slack_webhook import SlackWebhookOperator
from airflow.sdk import DAG, task
from difrec import START, rec

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*{{ ds }}*"}}]

with DAG("prov_slack_webhook", schedule=None, start_date=START, catchup=False):
    post = SlackWebhookOperator(
        task_id="post",
        slack_webhook_conn_id="diffsuite_slack_webhook",
        message="run of {{ ds }}",
        channel="#{{ dag.dag_id }}",
        username="bot-{{ ds_nodash }}",
        blocks=BLOCKS,
        attachments=[{"fallback": "f", "color": "#36a64f", "text": "{{ task.task_id }}"}],
    )

    @task
    def send(**context):
        hook = SlackWebhookHook(slack_webhook_conn_id="diffsuite_slack_webhook")
        answer = hook.send(text="sent", unfurl_links=False, unfurl_media=True)
        rec(context, "answer", [answer.status_code, answer.body])
        rec(context, "text", hook.send_text("only text").status_code)
        rec(context, "dict", hook.send_dict({"text": "a dict", "icon_emoji": ":ok:"}).body)
        rec(context, "dict_text", hook.send_dict(json.dumps({"text": "a JSON text"})).body)
        gone = SlackWebhookHook(slack_webhook_conn_id="diffsuite_slack_webhook_gone")
        try:
            gone.send_text("nobody")
            rec(context, "gone", "sent")
        except Exception as exc:  # which error a removed webhook gives, and what it says
            rec(context, "gone", [type(exc).__name__, "404" in str(exc)])

    @task
    def received(**context):
        base = os.environ["AIRFLOW_CONN_DIFFSUITE_HTTP"]
        with urllib.request.urlopen(f"{base}/inbox/slack-hooks") as answer:
            for request in json.load(answer):
                rec(context, "request", request)

    post >> send() >> received()
