"""Slack's Web API: chat.postMessage through the operator and the hook, Slack's answer as
data and XCom, an error code, a notifier called with the context, what reached the server."""

import json
import os
import urllib.request

from airflow.providers.slack.hooks.slack import SlackHook
from airflow.providers.slack.notifications.slack import send_slack_notification
from airflow.providers.slack.operators.slack import SlackAPIPostOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("prov_slack_api", schedule=None, start_date=START, catchup=False):
    post = SlackAPIPostOperator(
        task_id="post",
        slack_conn_id="diffsuite_slack",
        channel="#general",
        text="run of {{ ds }}",
        username="bot",
        blocks=[{"type": "section", "text": {"type": "plain_text", "text": "{{ ds }}"}}],
    )

    @task
    def call(**context):
        rec(context, "operator_xcom", context["ti"].xcom_pull(task_ids="post"))
        hook = SlackHook(slack_conn_id="diffsuite_slack")
        answer = hook.call("chat.postMessage", json={"channel": "#x", "text": "from hook"})
        rec(context, "data", answer.data)
        rec(context, "ok", [answer["ok"], answer.get("channel")])
        try:
            SlackHook(slack_conn_id="diffsuite_slack_fail").call(
                "chat.postMessage", json={"channel": "#nowhere", "text": "lost"}
            )
            rec(context, "fail", "sent")
        except Exception as exc:  # Slack's "ok": false, as the hook raises it
            rec(context, "fail", [type(exc).__name__, "channel_not_found" in str(exc)])
        notify = send_slack_notification(
            slack_conn_id="diffsuite_slack", channel="#alerts", text="{{ ti.task_id }} on {{ ds }}"
        )
        notify(context)

    @task
    def received(**context):
        base = os.environ["AIRFLOW_CONN_DIFFSUITE_HTTP"]
        with urllib.request.urlopen(f"{base}/inbox/slack-api") as answer:
            for request in json.load(answer):
                rec(context, "request", request)

    post >> call() >> received()
