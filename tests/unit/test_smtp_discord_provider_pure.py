"""The smtp and discord providers' pure parts: every import path, how an smtp connection's
extra secures the link, the message a mail is built into, and the Discord endpoint rule."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_hook_on import assert_paths_give
from conveyor.exceptions import AirflowException
from conveyor.providers.discord import hook as discord_hook
from conveyor.providers.discord import notifier as discord_notifier
from conveyor.providers.discord import operator as discord_operator
from conveyor.providers.smtp import hook as smtp_hook
from conveyor.providers.smtp import notifier as smtp_notifier
from conveyor.providers.smtp import operator as smtp_operator
from conveyor.providers.smtp import utils_email

PATHS = {
    "airflow.providers.smtp.hooks.smtp": {"SmtpHook": smtp_hook.SmtpHook},
    "airflow.providers.smtp.operators.smtp": {"EmailOperator": smtp_operator.EmailOperator},
    "airflow.operators.email": {"EmailOperator": smtp_operator.EmailOperator},
    "airflow.operators.email_operator": {"EmailOperator": smtp_operator.EmailOperator},
    "airflow.providers.smtp.notifications.smtp": {
        "SmtpNotifier": smtp_notifier.SmtpNotifier,
        "send_smtp_notification": smtp_notifier.SmtpNotifier,
    },
    "airflow.providers.discord.hooks.discord_webhook": {
        "DiscordWebhookHook": discord_hook.DiscordWebhookHook
    },
    "airflow.contrib.hooks.discord_webhook_hook": {
        "DiscordWebhookHook": discord_hook.DiscordWebhookHook
    },
    "airflow.providers.discord.operators.discord_webhook": {
        "DiscordWebhookOperator": discord_operator.DiscordWebhookOperator
    },
    "airflow.contrib.operators.discord_webhook_operator": {
        "DiscordWebhookOperator": discord_operator.DiscordWebhookOperator
    },
    "airflow.providers.discord.notifications.discord": {
        "DiscordNotifier": discord_notifier.DiscordNotifier,
        "send_discord_notification": discord_notifier.DiscordNotifier,
    },
}


def test_every_airflow_path_gives_the_provider_object(airflow_hook: None) -> None:
    assert_paths_give(PATHS)
    email = importlib.import_module("airflow.utils.email")
    assert email.send_email is utils_email.send_email


@pytest.mark.parametrize(
    ("extra", "ssl", "starttls", "port"),
    [
        ("", True, True, 465),  # Airflow's provider: SSL unless disabled
        ("?disable_ssl=true", False, True, 25),
        ("?disable_ssl=true&disable_tls=true", False, False, 25),
        ("?ssl=false&starttls=true&disable_tls=true", False, True, 25),  # Conveyor's keys win
    ],
)
def test_the_connection_extra_says_how_the_link_is_secured(
    monkeypatch: pytest.MonkeyPatch, extra: str, ssl: bool, starttls: bool, port: int
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MAIL", f"smtp://u:p@mail.example{extra}")
    found = smtp_hook.SmtpHook(smtp_conn_id="mail")
    assert (found.use_ssl, found.smtp_starttls, found.port) == (ssl, starttls, port)


def test_a_message_has_every_recipient_and_bcc_in_no_header(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("attached")
    message, recipients = smtp_hook.build_message(
        from_email="me@example.com",
        to="a@example.com; b@example.com",
        cc=["c@example.com"],
        bcc="d@example.com",
        subject="s",
        html_content="<p>x</p>",
        files=[str(tmp_path / "a.txt")],
        mime_subtype="related",
        custom_headers={"X-Run": "r1"},
    )
    assert recipients == ["a@example.com", "b@example.com", "c@example.com", "d@example.com"]
    assert message["To"] == "a@example.com, b@example.com" and "d@example.com" not in str(message)
    assert message.get_content_subtype() == "related" and message["X-Run"] == "r1"
    names = [p.get_filename() for p in message.walk() if p.get_filename()]
    assert names == ["a.txt"]
    with pytest.raises(smtp_hook.SmtpError, match=r"cannot attach .*missing\.txt"):
        smtp_hook.build_message(
            from_email="m", to="a@x", subject="", html_content="", files=["missing.txt"]
        )
    with pytest.raises(smtp_hook.SmtpError, match="at least one recipient"):
        smtp_hook.build_message(from_email="m", to=" ; ", subject="", html_content="")


def test_the_hook_needs_a_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MAIL", "smtp://mail.example")
    with pytest.raises(smtp_hook.SmtpError, match="connection 'mail': no sender"):
        smtp_hook.SmtpHook(smtp_conn_id="mail").send_email_smtp(
            to="a@x", subject="s", html_content="h", dryrun=True
        )


@pytest.mark.parametrize("endpoint", ["webhooks/1/abc", "/webhooks/123/a-b_C/", "webhooks/9/x"])
def test_a_discord_endpoint_of_the_right_shape_is_taken(endpoint: str) -> None:
    found = discord_hook.DiscordWebhookHook(http_conn_id="d", webhook_endpoint=endpoint)
    assert found.webhook_endpoint == endpoint.strip("/")


@pytest.mark.parametrize("endpoint", ["hooks/1/abc", "webhooks/x/abc", "webhooks/1/a/b"])
def test_a_discord_endpoint_of_another_shape_fails(endpoint: str) -> None:
    found = discord_hook.DiscordWebhookHook(http_conn_id="d", webhook_endpoint=endpoint)
    with pytest.raises(ValueError, match="connection 'd': expected"):
        found.webhook_endpoint  # noqa: B018


def test_the_discord_payload_is_discords_json() -> None:
    found = discord_hook.DiscordWebhookHook(message="hi", username="bot")
    assert found._build_discord_payload() == '{"content": "hi", "tts": false, "username": "bot"}'
    with pytest.raises(ValueError, match="2000 or fewer"):
        discord_hook.DiscordWebhookHook(message="x" * 2001)._build_discord_payload()


def test_a_discord_embed_goes_as_the_messages_one_embed() -> None:
    embed = {"title": "run", "fields": [{"name": "dag", "value": "etl", "inline": True}]}
    found = discord_hook.DiscordWebhookHook(message="hi", embed=embed)
    assert json.loads(found._build_discord_payload()) == {
        "content": "hi",
        "tts": False,
        "embeds": [embed],
    }


@pytest.mark.parametrize(
    ("embed", "named"),
    [
        ({"title": "t" * 257}, "title must be 256"),
        ({"description": "d" * 4097}, "description must be 4096"),
        ({"footer": {"text": "f" * 2049}}, "footer text must be 2048"),
        ({"author": {"name": "a" * 257}}, "author name must be 256"),
        ({"fields": [{"name": "n", "value": "v"}] * 26}, "fields must be 25 or fewer"),
        ({"fields": [{"name": "n" * 257, "value": "v"}]}, "field name must be 256"),
        ({"fields": [{"name": "n", "value": "v" * 1025}]}, "field value must be 1024"),
    ],
)
def test_an_embed_past_discords_limits_fails_before_sending(
    embed: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        discord_hook.DiscordWebhookHook(message="hi", embed=embed)._build_discord_payload()


def test_an_embed_at_discords_limits_is_taken() -> None:
    embed = {
        "title": "t" * 256,
        "description": "d" * 4096,
        "footer": {"text": "f" * 2048},
        "author": {"name": "a" * 256},
        "fields": [{"name": "n" * 256, "value": "v" * 1024}] * 25,
    }
    assert discord_hook.validate_embed(embed) is embed


def test_the_discord_operator_needs_a_connection_as_airflow_s_does() -> None:
    """Airflow's operator has no default connection and refuses the DAG without one."""
    operator = discord_operator.DiscordWebhookOperator
    with pytest.raises(AirflowException, match="'post': No valid Discord http_conn_id"):
        operator(task_id="post", message="hi")
    given = operator(task_id="posted", http_conn_id="mine", message="hi")
    assert given.http_conn_id == "mine"
