"""What a DAG author sees of the slack provider's names, with no service.

The names of docs/airflow.md's supported-modules table that map into Conveyor's
providers and that Airflow 3.3.2 has, of
airflow.providers.slack.hooks.slack to
airflow.providers.slack.operators.slack_webhook:
each name's kind, and of a class its name, template_fields and connection attributes
(difrec.describe)."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, describe, rec

MODULES = {
    "airflow.providers.slack.hooks.slack": ["SlackHook"],
    "airflow.providers.slack.hooks.slack_webhook": ["SlackWebhookHook"],
    "airflow.providers.slack.notifications.slack": ["SlackNotifier", "send_slack_notification"],
    "airflow.providers.slack.notifications.slack_webhook": [
        "SlackWebhookNotifier",
        "send_slack_webhook_notification",
    ],
    "airflow.providers.slack.operators.slack": ["SlackAPIOperator", "SlackAPIPostOperator"],
    "airflow.providers.slack.operators.slack_webhook": ["SlackWebhookOperator"],
}

with DAG("names_prov_slack", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: describe(getattr(loaded, name)) for name in names})

    probe()
