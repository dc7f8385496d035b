"""Callbacks and alerts: who hears about a failure, a retry, a slow run.

The notifiers post to a webhook (Slack-compatible JSON) or send an email, with their
targets in connections so no secret sits in this file. A webhook's secret is its path, so
the connection marks ``schema`` (the path) secret: listings show it as ``***``, and a try
that reads it has it masked in its log:

    conveyor connections add alerts_webhook \
        --uri 'https://hooks.slack.com/services/T000/B000/XXX?__secret__=schema'
    conveyor connections add alerts_smtp --uri smtp://bot:password@smtp.example.com:587?starttls=true

They are only called on failure, an SLA miss or a run timeout, so this example runs green
without them configured.
"""

from datetime import timedelta

from conveyor import DAG, task
from conveyor.notifiers import EmailNotifier, WebhookNotifier

page_oncall = [
    WebhookNotifier(conn_id="alerts_webhook"),
    EmailNotifier(to="oncall@example.com", conn_id="alerts_smtp"),
]


def log_retry(context: dict[str, object]) -> None:
    print(f"retrying {context['task']} after: {context['exception']}")


def log_success(context: dict[str, object]) -> None:
    print(f"run {context['run_id']} of {context['dag']} ended {context['state']}")


with DAG(
    "toolkit_alerts",
    schedule=None,
    tags=["example", "toolkit"],
    default_args={"retries": 1, "retry_delay": 0, "on_retry_callback": log_retry},
    on_success_callback=log_success,
    on_failure_callback=page_oncall,
    sla_miss_callback=page_oncall,
    dagrun_timeout=timedelta(hours=1),  # a run still going after an hour fails and alerts
):

    @task(sla=timedelta(minutes=30))  # not done 30 minutes into the run: an SLA-miss alert
    def flaky_extract(ti=None) -> int:
        if ti.try_number == 1:
            raise ConnectionError("the source hiccuped")  # on_retry_callback, then a retry
        return 42

    @task(
        on_success_callback=lambda context: print(
            "loaded", context["ti"].xcom_pull("flaky_extract")
        )
    )
    def load(rows: int) -> int:
        return rows

    load(flaky_extract())
