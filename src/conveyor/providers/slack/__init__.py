"""Airflow's slack provider, through plain HTTP with httpx (the extra ``conveyor[slack]``).

``webhook.py`` posts to an incoming webhook (``SlackWebhookHook``), ``api.py`` calls the
Web API with a token (``SlackHook``: ``chat.postMessage`` and any other method);
``operators.py`` and ``notifiers.py`` only call those two. Both send through the http
provider's client (``providers/http/client.py``).

A webhook's URL is its secret: whatever part of a connection holds it (the password, as
Airflow keeps the token, or the URL's path, which a ``slackwebhook`` connection always
masks) is masked in the try's output, and the hooks register the whole URL too.
"""

from __future__ import annotations

from conveyor.providers.declaration import ConnectionType, FormField, Provider, same_names

_S = "conveyor.providers.slack"
_SLACK_WEBHOOK_HOOK = same_names(f"{_S}.webhook", "SlackWebhookHook")
_SLACK_HOOK = same_names(f"{_S}.api", "SlackHook")
_SLACK_WEBHOOK_OPERATOR = same_names(f"{_S}.operators", "SlackWebhookOperator")
_SLACK_OPERATORS = same_names(f"{_S}.operators", "SlackAPIOperator", "SlackAPIPostOperator")

PROVIDER = Provider(
    name="slack",
    extra="slack",
    connection_types=(
        ConnectionType(
            "slack",
            f"{_S}.api:SlackHook",
            "Slack API",
            fields=(FormField("password", "Bot token", "xoxb-…"),),
            hidden=("host", "port", "login", "schema"),
            extras=(FormField("timeout", "Timeout (seconds)", "30"),),
        ),
        ConnectionType(
            "slackwebhook",
            f"{_S}.webhook:SlackWebhookHook",
            "Slack incoming webhook",
            aliases=("slack_webhook",),
            fields=(
                FormField("host", "Webhook host", "https://hooks.slack.com/services"),
                FormField("password", "Webhook token", "T000/B000/XXXX"),
            ),
            hidden=("port", "login", "schema"),
            extras=(FormField("timeout", "Timeout (seconds)", "30"),),
        ),
    ),
    airflow_modules={
        "airflow.providers.slack.hooks.slack_webhook": _SLACK_WEBHOOK_HOOK,
        "airflow.providers.slack.hooks.slack": _SLACK_HOOK,
        "airflow.providers.slack.operators.slack_webhook": _SLACK_WEBHOOK_OPERATOR,
        "airflow.providers.slack.operators.slack": _SLACK_OPERATORS,
        "airflow.providers.slack.notifications.slack": same_names(
            f"{_S}.notifiers", "SlackNotifier", "send_slack_notification"
        ),
        "airflow.providers.slack.notifications.slack_webhook": same_names(
            f"{_S}.notifiers", "SlackWebhookNotifier", "send_slack_webhook_notification"
        ),
        "airflow.contrib.hooks.slack_webhook_hook": _SLACK_WEBHOOK_HOOK,
        "airflow.contrib.operators.slack_webhook_operator": _SLACK_WEBHOOK_OPERATOR,
        "airflow.hooks.slack_hook": _SLACK_HOOK,
        "airflow.operators.slack_operator": _SLACK_OPERATORS,
    },
)
