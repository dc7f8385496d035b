"""DAG files in Airflow's spelling that send mail (the smtp provider's ``EmailOperator``,
``SmtpHook`` and ``SmtpNotifier``, the core's ``EmailOperator`` paths, ``airflow.utils.email``
and ``email_on_failure``), run with ``conveyor run`` against an SMTP server (aiosmtpd) this
test starts on a private port; the test then reads what the server received, and that no
password shows in the output."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sql_servers import ended, run_dag_file

pytestmark = pytest.mark.timeout(300)

PASSWORD = "Mail5ecret-0001"


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: Message
    login: str | None

    def parts(self) -> list[Message]:
        return [p for p in self.message.walk() if not p.is_multipart()]

    def html(self) -> str:
        found = [p for p in self.parts() if p.get_content_type() == "text/html"]
        return str(found[0].get_payload(decode=True).decode())

    def attachments(self) -> dict[str, bytes]:
        return {
            str(p.get_filename()): bytes(p.get_payload(decode=True))
            for p in self.parts()
            if p.get_filename()
        }


@dataclass
class Mailbox:
    port: int = 0
    mails: list[Mail] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.login.decode() if session.authenticated else None
        self.mails.append(
            Mail(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                message_from_bytes(envelope.content),
                login,
            )
        )
        return "250 OK"

    def by_subject(self, subject: str) -> Mail:
        found = [m for m in self.mails if m.message["Subject"] == subject]
        assert len(found) == 1, [m.message["Subject"] for m in self.mails]
        return found[0]


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = data.login == b"mailer" and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False, auth_data=data)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=_free_port())
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=box.port,
        authenticator=_authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


MAIL_DAG = '''
"""Mail a report through each of Airflow's mail paths."""
import os
from datetime import datetime

from airflow import DAG
from airflow.hooks.base import BaseHook
from airflow.operators.email import EmailOperator as CoreEmailOperator
from airflow.operators.email_operator import EmailOperator as EmailOperator110
from airflow.operators.python import PythonOperator
from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.providers.smtp.notifications.smtp import send_smtp_notification
from airflow.providers.smtp.operators.smtp import EmailOperator
from airflow.utils.email import send_email

HERE = os.path.dirname(os.path.abspath(__file__))


def use_hook():
    with SmtpHook(smtp_conn_id="mail") as hook:
        hook.send_email_smtp(to="hook@example.com", subject="from the hook",
                             html_content="<p>hook</p>")
    assert isinstance(BaseHook.get_hook("mail"), SmtpHook)
    send_email("utils@example.com; second@example.com", "from utils", "<b>utils</b>",
               conn_id="mail_uri", files=[os.path.join(HERE, "report.csv")])


with DAG("mail_provider", start_date=datetime(2024, 1, 1), schedule=None, catchup=False,
         params={"team": "data", "mail": "mail"},
         on_success_callback=send_smtp_notification(
             smtp_conn_id="{{ params.mail }}", to="runs@example.com",
             custom_headers={"X-Team": "{{ params.team }}"},
             subject="{{ dag.dag_id }} succeeded", html_content="run {{ run_id }}",
         )) as dag:
    report = EmailOperator(
        task_id="report", conn_id="{{ params.mail }}",
        custom_headers={"X-Team": "{{ params.team }}"},
        to=["a@example.com", "b@example.com"], cc="c@example.com", bcc=["d@example.com"],
        subject="Report for {{ params.team }} ({{ task.task_id }})",
        html_content="<h1>{{ dag.dag_id }}</h1>",
        files=[os.path.join(HERE, "report.csv")],
    )
    core = CoreEmailOperator(
        task_id="core", conn_id="mail_uri", to="core@example.com",
        subject="core path", html_content="core body", mime_subtype="alternative",
    )
    old = EmailOperator110(
        task_id="old", conn_id="mail", to="old@example.com", subject="1.10 path",
        html_content="old body", from_email="sender@example.com",
    )
    hooked = PythonOperator(task_id="hooked", python_callable=use_hook)
    [report, core, old] >> hooked
'''


def _env(box: Mailbox) -> dict[str, str]:
    return {
        # Airflow's JSON form: a plain link (no SSL, no STARTTLS) with a login.
        "AIRFLOW_CONN_MAIL": json.dumps(
            {
                "conn_type": "email",
                "host": "127.0.0.1",
                "port": box.port,
                "login": "mailer",
                "password": PASSWORD,
                "extra": {
                    "disable_ssl": True,
                    "disable_tls": True,
                    "from_email": "airflow@example.com",
                    "timeout": 20,
                },
            }
        ),
        # The URI form, Conveyor's own extra keys.
        "AIRFLOW_CONN_MAIL_URI": (
            f"smtp://mailer:{PASSWORD}@127.0.0.1:{box.port}"
            "?ssl=false&starttls=false&from_email=uri%40example.com"
        ),
    }


def test_a_dag_mails_through_every_path(tmp_path: Path, mailbox: Mailbox) -> None:
    done = run_dag_file(
        tmp_path,
        "mail_provider.py",
        MAIL_DAG,
        _env(mailbox),
        files={"report.csv": "day,rows\n2024-01-01,42\n"},
    )
    output, logs = ended(done, tmp_path, 0)
    assert PASSWORD not in output and PASSWORD not in logs

    report = mailbox.by_subject("Report for data (report)")
    assert report.sender == "airflow@example.com" and report.login == "mailer"
    assert sorted(report.recipients) == [f"{x}@example.com" for x in "abcd"]
    assert report.message["To"] == "a@example.com, b@example.com"
    assert report.message["CC"] == "c@example.com" and report.message["BCC"] is None
    assert report.html() == "<h1>mail_provider</h1>"
    assert report.message["X-Team"] == "data"  # the connection and headers are templated
    assert report.attachments() == {"report.csv": b"day,rows\n2024-01-01,42\n"}

    core = mailbox.by_subject("core path")
    assert core.sender == "uri@example.com" and core.recipients == ["core@example.com"]
    assert core.message.get_content_subtype() == "alternative" and core.html() == "core body"
    old = mailbox.by_subject("1.10 path")
    assert old.sender == "sender@example.com" and old.html() == "old body"

    assert mailbox.by_subject("from the hook").recipients == ["hook@example.com"]
    utils = mailbox.by_subject("from utils")
    assert utils.recipients == ["utils@example.com", "second@example.com"]
    assert utils.attachments() == {"report.csv": b"day,rows\n2024-01-01,42\n"}

    notified = mailbox.by_subject("mail_provider succeeded")  # the DAG's callback
    assert notified.recipients == ["runs@example.com"]
    assert notified.html().startswith("run manual__")
    assert notified.message["X-Team"] == "data"


BAD_DAG = """
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.providers.smtp.operators.smtp import EmailOperator


def boom():
    raise ValueError("boom in the task")


with DAG("bad_mail", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    EmailOperator(task_id="wrong_port", conn_id="mail_down", to="x@example.com",
                  subject="never", html_content="never")
    EmailOperator(task_id="wrong_password", conn_id="mail_bad_login", to="x@example.com",
                  subject="never", html_content="never")
    PythonOperator(task_id="doomed", python_callable=boom, email=["oncall@example.com"],
                   email_on_failure=True, retries=0)
"""


def test_bad_connections_fail_naming_the_connection_never_the_password(
    tmp_path: Path, mailbox: Mailbox
) -> None:
    closed = _free_port()
    env = {
        "AIRFLOW_CONN_MAIL_DOWN": f"smtp://mailer:{PASSWORD}@127.0.0.1:{closed}?ssl=false",
        "AIRFLOW_CONN_MAIL_BAD_LOGIN": (
            f"smtp://mailer:Wrong{PASSWORD}@127.0.0.1:{mailbox.port}?ssl=false&starttls=false"
        ),
        # email_on_failure goes through smtp_default, as in Airflow.
        "AIRFLOW_CONN_SMTP_DEFAULT": (
            f"smtp://127.0.0.1:{mailbox.port}?disable_ssl=true&disable_tls=true"
        ),
    }
    done = run_dag_file(tmp_path, "bad.py", BAD_DAG, env)
    output, logs = ended(done, tmp_path, 1)
    assert PASSWORD not in output and PASSWORD not in logs
    assert f"connection 'mail_down' (127.0.0.1:{closed}): could not reach" in output
    assert "connection 'mail_bad_login'" in output and "SMTPAuthenticationError" in output
    for task_id in ("wrong_port", "wrong_password", "doomed"):
        assert f"{task_id} failed on try 1" in output, task_id
    (alert,) = mailbox.mails
    assert alert.recipients == ["oncall@example.com"]
    assert alert.message["Subject"].startswith("[conveyor] bad_mail.doomed failed")
    assert "boom in the task" in alert.html()


def test_conveyor_dags_validate_finds_nothing_to_change_in_these_files() -> None:
    from conveyor.airflow_compat.lint import check_source

    for source in (MAIL_DAG, BAD_DAG):
        assert check_source(source) == []
