"""A DAG file in Airflow's spelling that uses the slack provider, run to its end with
``conveyor run`` against a local Slack-shaped server (incoming webhooks and the Web API's
``chat.postMessage``); the test then reads what the server received, and that no webhook
token or API token shows in the output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import http_servers
import pytest
from http_servers import Answer, Recorder, Seen
from sql_servers import ended, run_dag_file

# A DAG run in a process of its own: slower than the default per-test limit on a busy machine.
pytestmark = pytest.mark.timeout(300)

WEBHOOK_TOKEN = "T0001/B0001/Hook5ecret0001"
LEGACY_TOKEN = "T0002/B0002/Hook5ecret0002"
API_TOKEN = "xoxb-5ecret-api-token-0003"

SLACK_DAG = '''
"""Tell Slack a run started, post through the Web API, and notify on success."""
from datetime import datetime

from airflow import DAG
from airflow.contrib.operators.slack_webhook_operator import (
    SlackWebhookOperator as SlackWebhookOperator110,
)
from airflow.operators.python import PythonOperator
from airflow.operators.slack_operator import SlackAPIPostOperator as SlackAPIPostOperator110
from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook
from airflow.providers.slack.notifications.slack import send_slack_notification
from airflow.providers.slack.notifications.slack_webhook import send_slack_webhook_notification
from airflow.providers.slack.operators.slack import SlackAPIPostOperator
from airflow.providers.slack.operators.slack_webhook import SlackWebhookOperator


def use_hook(ti):
    hook = SlackWebhookHook(slack_webhook_conn_id="slack_webhook")
    response = hook.send(text="from the hook", attachments=[{"color": "good"}])
    assert response.status_code == 200 and response.body == "ok", response
    assert hook.send_text("plain text").status_code == 200
    print("posting to", hook.webhook_url())  # the URL is a secret: the log shows ***
    posted = ti.xcom_pull(task_ids="post")
    assert posted["ok"] is True and posted["ts"] == "1700000000.000100", posted


with DAG("slack_provider", start_date=datetime(2024, 1, 1), schedule_interval=None,
         catchup=False,
         on_success_callback=send_slack_notification(
             slack_conn_id="slack_api", channel="#runs", text="{{ dag.dag_id }} succeeded",
         )) as dag:
    announce = SlackWebhookOperator(
        task_id="announce", slack_webhook_conn_id="slack_webhook",
        message="{{ dag.dag_id }} started",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*{{ task.task_id }}*"}}],
    )
    legacy = SlackWebhookOperator110(
        task_id="legacy", http_conn_id="slack_legacy", webhook_token="@LEGACY_TOKEN@",
        message="legacy {{ task.task_id }}", channel="#ops", username="bot",
    )
    post = SlackAPIPostOperator(
        task_id="post", slack_conn_id="slack_api", channel="#data",
        text="{{ dag.dag_id }} posted", blocks=[{"type": "divider"}],
    )
    post_old = SlackAPIPostOperator110(
        task_id="post_old", slack_conn_id="slack_api", channel="#old", text="old name",
    )
    check = PythonOperator(
        task_id="check", python_callable=use_hook,
        on_success_callback=send_slack_webhook_notification(
            slack_webhook_conn_id="slack_webhook", text="{{ ti.task_id }} passed",
        ),
    )
    [announce, legacy, post, post_old] >> check
'''


def _slack() -> dict[tuple[str, str], object]:
    def webhook(seen: Seen) -> Answer:
        return 200, "ok", {"Content-Type": "text/plain"}

    def post_message(seen: Seen) -> Answer:
        if seen.headers.get("authorization") != f"Bearer {API_TOKEN}":
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        body = seen.json()
        return 200, {"ok": True, "channel": body["channel"], "ts": "1700000000.000100"}, {}

    return {
        ("POST", f"/services/{WEBHOOK_TOKEN}"): webhook,
        ("POST", f"/services/{LEGACY_TOKEN}"): webhook,
        ("POST", "/api/chat.postMessage"): post_message,
    }


@pytest.fixture
def slack() -> Iterator[Recorder]:
    yield from http_servers.serve(Recorder(routes=_slack()))  # type: ignore[arg-type]


def _env(slack: Recorder) -> dict[str, str]:
    return {
        # Airflow's slackwebhook connection: the base URL in host, the token in the password.
        "AIRFLOW_CONN_SLACK_WEBHOOK": json.dumps(
            {
                "conn_type": "slackwebhook",
                "host": f"{slack.url}/services",
                "password": WEBHOOK_TOKEN,
            }
        ),
        # Airflow 1.10's: an http connection, the token given to the operator.
        "AIRFLOW_CONN_SLACK_LEGACY": f"{slack.url}/services",
        # The Web API's token in a slack connection; base_url points at the local server.
        "AIRFLOW_CONN_SLACK_API": json.dumps(
            {
                "conn_type": "slack",
                "password": API_TOKEN,
                "extra": {"base_url": f"{slack.url}/api/"},
            }
        ),
    }


def test_a_slack_dag_runs_to_success(tmp_path: Path, slack: Recorder) -> None:
    source = SLACK_DAG.replace("@LEGACY_TOKEN@", LEGACY_TOKEN)
    done = run_dag_file(tmp_path, "slack_provider.py", source, _env(slack))
    output, logs = ended(done, tmp_path, 0)
    for secret in (WEBHOOK_TOKEN, API_TOKEN):
        assert secret not in output and secret not in logs, secret
    assert "posting to ***" in logs

    hooked = [s.json() for s in slack.requests("POST", f"/services/{WEBHOOK_TOKEN}")]
    assert hooked[0] == {
        "text": "slack_provider started",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*announce*"}}],
    }
    assert {"text": "from the hook", "attachments": [{"color": "good"}]} in hooked
    assert {"text": "plain text"} in hooked
    assert hooked[-1] == {"text": "check passed"}  # the success callback
    (legacy,) = [s.json() for s in slack.requests("POST", f"/services/{LEGACY_TOKEN}")]
    assert legacy == {"text": "legacy legacy", "channel": "#ops", "username": "bot"}

    posts = {s.json()["channel"]: s.json() for s in slack.requests("POST", "/api/chat.postMessage")}
    assert posts["#data"]["text"] == "slack_provider posted"
    assert json.loads(posts["#data"]["blocks"]) == [{"type": "divider"}]
    assert posts["#data"]["username"] == "Airflow"
    assert posts["#old"]["text"] == "old name"
    assert posts["#runs"]["text"] == "slack_provider succeeded"  # the DAG's callback


BAD_DAG = """
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier
from airflow.providers.slack.operators.slack import SlackAPIPostOperator
from airflow.providers.slack.operators.slack_webhook import SlackWebhookOperator


def boom():
    raise ValueError("boom")


with DAG("bad_slack", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    SlackWebhookOperator(task_id="wrong_host", slack_webhook_conn_id="hook_down", message="x")
    SlackWebhookOperator(task_id="unknown_type", slack_webhook_conn_id="not_slack", message="x")
    SlackAPIPostOperator(task_id="bad_token", slack_conn_id="api_bad_token", text="x")
    PythonOperator(
        task_id="doomed", python_callable=boom,
        on_failure_callback=SlackWebhookNotifier(
            slack_webhook_conn_id="slack_webhook", text="{{ ti.task_id }} failed",
        ),
    )
"""


def test_bad_connections_fail_naming_the_connection_never_the_token(
    tmp_path: Path, slack: Recorder
) -> None:
    with http_servers.refusing_port() as closed:
        env = {
            **_env(slack),
            "AIRFLOW_CONN_HOOK_DOWN": json.dumps(
                {
                    "conn_type": "slackwebhook",
                    "host": f"http://127.0.0.1:{closed}/services",
                    "password": WEBHOOK_TOKEN,
                }
            ),
            "AIRFLOW_CONN_NOT_SLACK": f"postgres://someone:{API_TOKEN}@127.0.0.1:5432/db",
            "AIRFLOW_CONN_API_BAD_TOKEN": json.dumps(
                {
                    "conn_type": "slack",
                    "password": "xoxb-wrong-5ecret-0004",
                    "extra": {"base_url": f"{slack.url}/api/"},
                }
            ),
        }
        done = run_dag_file(tmp_path, "bad.py", BAD_DAG, env)
    output, logs = ended(done, tmp_path, 1)
    for secret in (WEBHOOK_TOKEN, API_TOKEN, "xoxb-wrong-5ecret-0004"):
        assert secret not in output and secret not in logs, secret
    assert "connection 'hook_down'" in output and "got no answer" in output
    assert "connection 'not_slack' has type 'postgres'" in output
    assert "connection 'api_bad_token'" in output and "invalid_auth" in output
    for task_id in ("wrong_host", "unknown_type", "bad_token", "doomed"):
        assert f"{task_id} failed on try 1" in output, task_id
    told = [s.json() for s in slack.requests("POST", f"/services/{WEBHOOK_TOKEN}")]
    assert told == [{"text": "doomed failed"}]  # the failure callback


def test_conveyor_dags_validate_finds_nothing_to_change_in_these_files() -> None:
    from conveyor.airflow_compat.lint import check_source

    for source in (SLACK_DAG, BAD_DAG):
        assert check_source(source) == []
