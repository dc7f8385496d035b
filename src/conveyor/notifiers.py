"""Notifiers: ready-made callbacks that tell people a task or a run ended (or was late).

Each is a callable taking the context, so it goes wherever a callback goes::

    on_failure_callback=WebhookNotifier("https://hooks.slack.com/services/...")
    sla_miss_callback=EmailNotifier(to=["oncall@example.com"], conn_id="smtp")

The message is a Jinja template rendered with the context; the default says what ended, how
and where to look. Targets may come from a connection (``conn_id``) so secrets stay out of
DAG files.
"""

from __future__ import annotations

import dataclasses
import json
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Any

from conveyor.connections import get_connection, masking
from conveyor.model.templating import render_value

DEFAULT_MESSAGE = (
    "{% if ti is defined %}Conveyor: task {{ dag.dag_id }}.{{ task.task_id }} {{ state }}"
    " (run {{ run_id }}, try {{ ti.try_number }})"
    "{% elif task_id is defined %}Conveyor: SLA missed in {{ dag.dag_id }}: {{ reason }}"
    " (run {{ run_id }})"
    "{% else %}Conveyor: DAG {{ dag.dag_id }} run {{ run_id }} {{ state }}"
    "{% endif %}{% if exception and ti is defined %}: {{ exception_line }}"
    "{% elif reason and task_id is not defined %}: {{ reason_text or reason }}{% endif %}"
)


def exception_line(exception: Any) -> str:
    """A failure's one line for a message: "ValueError: no luck" (of an exception object,
    or the last line of a recorded traceback)."""
    if exception is None:
        return ""
    text = str(exception).strip()
    if isinstance(exception, str) or "\n" in text:
        return text.splitlines()[-1] if text else ""
    return f"{type(exception).__name__}: {text}" if text else type(exception).__name__


def message_values(context: dict[str, Any]) -> dict[str, Any]:
    """The context with the names the default message uses, None where it has none."""
    values = {"exception": None, "reason": None, "reason_text": None, "state": None, **context}
    values["exception_line"] = exception_line(values["exception"])
    return values


def render_message(template: str, context: dict[str, Any]) -> str:
    """The message, with every secret this process read masked (it leaves for other eyes)."""
    return masking.redact(str(render_value(template, message_values(context))))


class WebhookNotifier:
    """POST ``{"text": message}`` (Slack-compatible JSON) to a URL or an http connection."""

    def __init__(
        self,
        url: str | None = None,
        *,
        conn_id: str | None = None,
        text: str = DEFAULT_MESSAGE,
        timeout: float = 10.0,
        extra_payload: dict[str, Any] | None = None,
    ) -> None:
        if not url and not conn_id:
            raise ValueError("WebhookNotifier needs a url or a conn_id")
        self.url = url
        self.conn_id = conn_id
        self.text = text
        self.timeout = timeout
        self.extra_payload = dict(extra_payload or {})

    def target(self) -> str:
        if self.url:
            return self.url
        assert self.conn_id is not None
        conn = get_connection(self.conn_id)  # http(s)://host/path, or any type with extra url
        found = conn.extra_dejson.get("webhook_url") or conn.extra_dejson.get("url")
        # The URI without its marks: "__secret__" is Conveyor's, not the webhook's.
        return str(found or dataclasses.replace(conn, secret_fields=()).get_uri())

    def __call__(self, context: dict[str, Any]) -> None:
        body = json.dumps({"text": render_message(self.text, context), **self.extra_payload})
        request = urllib.request.Request(
            self.target(),
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()

    def __repr__(self) -> str:
        return f"WebhookNotifier({self.conn_id or 'url'})"


class EmailNotifier:
    """Send an email through SMTP: settings given here, or from an ``smtp`` connection.

    With ``conn_id``, the connection's host, port, login and password are used, and its
    extra may set ``from``, ``starttls`` and ``ssl``.
    """

    def __init__(
        self,
        to: str | list[str],
        *,
        conn_id: str | None = None,
        host: str = "localhost",
        port: int = 25,
        login: str | None = None,
        password: str | None = None,
        from_addr: str = "conveyor@localhost",
        starttls: bool = False,
        ssl: bool = False,
        subject: str = DEFAULT_MESSAGE,
        body: str = DEFAULT_MESSAGE,
        timeout: float = 30.0,
    ) -> None:
        self.to = [to] if isinstance(to, str) else list(to)
        if not self.to:
            raise ValueError("EmailNotifier needs at least one recipient")
        self.conn_id = conn_id
        self.host, self.port = host, port
        self.login, self.password = login, password
        self.from_addr, self.starttls, self.ssl = from_addr, starttls, ssl
        self.subject, self.body, self.timeout = subject, body, timeout

    def _settings(self) -> dict[str, Any]:
        found = {
            "host": self.host,
            "port": self.port,
            "login": self.login,
            "password": self.password,
            "from": self.from_addr,
            "starttls": self.starttls,
            "ssl": self.ssl,
        }
        if self.conn_id:
            conn = get_connection(self.conn_id)
            found.update(host=conn.host or self.host, port=conn.port or self.port)
            found.update(login=conn.login, password=conn.password)
            for key in ("from", "starttls", "ssl"):
                if key in conn.extra_dejson:
                    value = conn.extra_dejson[key]
                    found[key] = value in (True, "true", "1", "yes") if key != "from" else value
        return found

    def __call__(self, context: dict[str, Any]) -> None:
        smtp = self._settings()
        message = EmailMessage()
        message["From"] = smtp["from"]
        message["To"] = ", ".join(self.to)
        message["Subject"] = render_message(self.subject, context).splitlines()[0][:200]
        message.set_content(render_message(self.body, context))
        client_class = smtplib.SMTP_SSL if smtp["ssl"] else smtplib.SMTP
        with client_class(smtp["host"], smtp["port"], timeout=self.timeout) as client:
            if smtp["starttls"]:
                client.starttls()
            if smtp["login"]:
                client.login(smtp["login"], smtp["password"] or "")
            client.send_message(message)

    def __repr__(self) -> str:
        return f"EmailNotifier(to={self.to})"
