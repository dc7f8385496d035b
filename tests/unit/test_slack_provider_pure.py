"""The slack provider's pure parts: every import path, the missing-extra line, the webhook
URL a connection gives, and a webhook connection's path masked wherever it shows."""

from __future__ import annotations

import sys

import pytest

from airflow_hook_on import assert_paths_give
from conveyor.airflow_compat import AirflowNameError
from conveyor.airflow_compat.lint import check_source
from conveyor.connections import masking
from conveyor.connections.forms import connection_from_dict, connection_from_text
from conveyor.exceptions import TaskError
from conveyor.providers.slack import api, notifiers, operators, webhook

PATHS = {
    "airflow.providers.slack.hooks.slack_webhook": {"SlackWebhookHook": webhook.SlackWebhookHook},
    "airflow.providers.slack.hooks.slack": {"SlackHook": api.SlackHook},
    "airflow.providers.slack.operators.slack_webhook": {
        "SlackWebhookOperator": operators.SlackWebhookOperator
    },
    "airflow.providers.slack.operators.slack": {
        "SlackAPIOperator": operators.SlackAPIOperator,
        "SlackAPIPostOperator": operators.SlackAPIPostOperator,
    },
    "airflow.providers.slack.notifications.slack": {
        "SlackNotifier": notifiers.SlackNotifier,
        "send_slack_notification": notifiers.SlackNotifier,
    },
    "airflow.providers.slack.notifications.slack_webhook": {
        "SlackWebhookNotifier": notifiers.SlackWebhookNotifier,
        "send_slack_webhook_notification": notifiers.SlackWebhookNotifier,
    },
    "airflow.contrib.operators.slack_webhook_operator": {
        "SlackWebhookOperator": operators.SlackWebhookOperator
    },
    "airflow.contrib.hooks.slack_webhook_hook": {"SlackWebhookHook": webhook.SlackWebhookHook},
    "airflow.operators.slack_operator": {
        "SlackAPIOperator": operators.SlackAPIOperator,
        "SlackAPIPostOperator": operators.SlackAPIPostOperator,
    },
    "airflow.hooks.slack_hook": {"SlackHook": api.SlackHook},
}


def test_every_airflow_path_gives_the_provider_object(airflow_hook: None) -> None:
    assert_paths_give(PATHS)


def test_a_missing_httpx_fails_the_import_naming_the_extra(
    airflow_hook: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)
    for name in list(sys.modules):
        if name.startswith(("conveyor.providers.slack.", "conveyor.providers.http.")):
            monkeypatch.delitem(sys.modules, name)
    with pytest.raises(AirflowNameError) as failed:
        from airflow.providers.slack.operators.slack_webhook import (  # noqa: F401
            SlackWebhookOperator,
        )
    message = str(failed.value)
    assert "\n" not in message and "SlackWebhookOperator" in message
    assert "conveyor[slack]" in message
    found = check_source("from airflow.providers.slack.hooks.slack import SlackHook\n")
    assert len(found) == 1 and "conveyor[slack]" in found[0].message


@pytest.mark.parametrize(
    ("data", "url"),
    [
        # Airflow's: the token in the password, the host's default.
        (
            {"conn_type": "slackwebhook", "password": "T1/B1/abcd"},
            "https://hooks.slack.com/services/T1/B1/abcd",
        ),
        # The whole URL in the password.
        (
            {"conn_type": "slackwebhook", "password": "https://x.example/h/1234"},
            "https://x.example/h/1234",
        ),
        # A base URL in the host.
        (
            {
                "conn_type": "slackwebhook",
                "host": "http://127.0.0.1:9/services",
                "password": "T/B/c",
            },
            "http://127.0.0.1:9/services/T/B/c",
        ),
        # The URL the connection names, its path the token.
        (
            {"uri": "slackwebhook://hooks.slack.com/services/T1/B1/abcd"},
            "https://hooks.slack.com/services/T1/B1/abcd",
        ),
        (
            {"uri": "http://127.0.0.1:9/services/T1/B1/abcd"},
            "http://127.0.0.1:9/services/T1/B1/abcd",
        ),
    ],
)
def test_the_webhook_url_comes_from_the_connection(
    monkeypatch: pytest.MonkeyPatch, data: dict[str, str], url: str
) -> None:
    conn = connection_from_dict("hook", data)
    monkeypatch.setattr(webhook, "get_connection", lambda conn_id: conn)
    assert webhook.SlackWebhookHook(slack_webhook_conn_id="hook").webhook_url() == url
    assert masking.redact(f"posting to {url}") == "posting to ***"
    masking.reset()


def test_a_connection_without_the_webhook_part_fails_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conn = connection_from_text("hook", "slackwebhook://hooks.slack.com/services")
    monkeypatch.setattr(webhook, "get_connection", lambda conn_id: conn)
    with pytest.raises(TaskError, match="connection 'hook' holds no Slack webhook"):
        webhook.SlackWebhookHook(slack_webhook_conn_id="hook").webhook_url()


def test_a_webhook_connections_path_is_masked_wherever_it_shows() -> None:
    conn = connection_from_text("alerts", "slackwebhook://hooks.slack.com/services/T1/B1/s3cr3t")
    assert conn.schema == "services/T1/B1/s3cr3t"
    assert "s3cr3t" not in conn.get_uri(reveal=False) and "s3cr3t" not in repr(conn)
    assert conn.masked().schema == "***"
    assert "services/T1/B1/s3cr3t" in conn.secret_values()
    assert conn.get_uri() == "slackwebhook://hooks.slack.com/services/T1/B1/s3cr3t"
