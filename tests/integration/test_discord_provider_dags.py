"""A DAG file in Airflow's spelling that uses the discord provider (``DiscordWebhookOperator``,
``DiscordWebhookHook``, ``DiscordNotifier``), run with ``conveyor run`` against a local HTTP
server standing in for Discord's webhook API; the test then reads what the server received,
and that the webhook's token shows nowhere in the output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import http_servers
import pytest
from http_servers import Answer, Recorder, Seen
from sql_servers import ended, run_dag_file

pytestmark = pytest.mark.timeout(300)

TOKEN = "Disc0rd-5ecret_token"
ENDPOINT = f"webhooks/123456/{TOKEN}"
OTHER = "webhooks/777/other-5ecret"

DISCORD_DAG = '''
"""Tell Discord a run started; notify on success."""
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.providers.discord.hooks.discord_webhook import DiscordWebhookHook
from airflow.providers.discord.notifications.discord import DiscordNotifier
from airflow.providers.discord.operators.discord_webhook import DiscordWebhookOperator


def use_hook():
    DiscordWebhookHook(http_conn_id="discord_hook", message="from the hook", tts=True).execute()


with DAG("discord_provider", start_date=datetime(2024, 1, 1), schedule=None, catchup=False,
         on_success_callback=DiscordNotifier(
             discord_conn_id="discord_hook", text="{{ dag.dag_id }} succeeded",
             embed={"title": "{{ dag.dag_id }}", "color": 5763719,
                    "fields": [{"name": "run", "value": "{{ run_id }}", "inline": True}]},
         )) as dag:
    announce = DiscordWebhookOperator(
        task_id="announce", http_conn_id="discord_hook",
        message="{{ dag.dag_id }} started by {{ task.task_id }}", username="conveyor-bot",
        avatar_url="https://example.com/a.png",
    )
    other = DiscordWebhookOperator(
        task_id="other", http_conn_id="discord_hook", webhook_endpoint="@OTHER@",
        message="to the other webhook",
    )
    hooked = PythonOperator(task_id="hooked", python_callable=use_hook)
    [announce, other] >> hooked
'''


@pytest.fixture
def discord() -> Iterator[Recorder]:
    def webhook(seen: Seen) -> Answer:
        return 204, b"", {}

    routes = {("POST", f"/api/{ENDPOINT}"): webhook, ("POST", f"/api/{OTHER}"): webhook}
    yield from http_servers.serve(Recorder(routes=routes))  # type: ignore[arg-type]


def _env(discord: Recorder) -> dict[str, str]:
    return {
        "AIRFLOW_CONN_DISCORD_HOOK": json.dumps(
            {
                "conn_type": "discord",
                "host": f"{discord.url}/api/",
                "extra": {"webhook_endpoint": ENDPOINT},
            }
        ),
    }


def test_a_discord_dag_posts_to_the_webhook(tmp_path: Path, discord: Recorder) -> None:
    source = DISCORD_DAG.replace("@OTHER@", OTHER)
    done = run_dag_file(tmp_path, "discord_provider.py", source, _env(discord))
    output, logs = ended(done, tmp_path, 0)
    assert TOKEN not in output and TOKEN not in logs

    posted = [s.json() for s in discord.requests("POST", f"/api/{ENDPOINT}")]
    assert posted[0] == {
        "content": "discord_provider started by announce",
        "tts": False,
        "username": "conveyor-bot",
        "avatar_url": "https://example.com/a.png",
    }
    assert {"content": "from the hook", "tts": True} in posted
    assert posted[-1]["content"] == "discord_provider succeeded"  # the DAG's callback
    assert posted[-1]["username"] == "Airflow"
    # The embed's strings are rendered with the callback's context, each where it stands.
    (embed,) = posted[-1]["embeds"]
    assert embed["title"] == "discord_provider" and embed["color"] == 5763719
    (field,) = embed["fields"]
    assert field["name"] == "run" and field["value"].startswith("manual__") and field["inline"]
    (other,) = discord.requests("POST", f"/api/{OTHER}")
    assert other.json() == {"content": "to the other webhook", "tts": False}
    assert other.headers["content-type"] == "application/json"
    assert "webhook_endpoint" not in other.headers  # the connection's setting, not a header


BAD_DAG = """
from datetime import datetime

from airflow import DAG
from airflow.providers.discord.operators.discord_webhook import DiscordWebhookOperator

with DAG("bad_discord", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    DiscordWebhookOperator(task_id="no_endpoint", http_conn_id="discord_bare", message="x")
    DiscordWebhookOperator(task_id="too_long", http_conn_id="discord_hook", message="x" * 2001)
"""


def test_bad_endpoints_and_messages_fail_with_what_is_wrong(
    tmp_path: Path, discord: Recorder
) -> None:
    env = {
        **_env(discord),
        "AIRFLOW_CONN_DISCORD_BARE": json.dumps({"conn_type": "discord", "host": discord.url}),
    }
    done = run_dag_file(tmp_path, "bad.py", BAD_DAG, env)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "connection 'discord_bare': expected a Discord webhook endpoint" in output
    assert "Discord message length must be 2000 or fewer characters" in output
    assert TOKEN not in output
    assert discord.seen == []
