"""``airflow.utils.email``: ``send_email`` / ``send_email_smtp`` through an ``smtp``
connection (``smtp_default`` unless ``conn_id`` names another), the same path as
``EmailOperator``; Airflow's ``[email] email_backend`` setting is not read."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from conveyor.providers.smtp.hook import SmtpHook, address_list

#: The sender when nothing names one.
DEFAULT_SENDER = "conveyor@localhost"


def send_email(
    to: str | Iterable[str],
    subject: str,
    html_content: str,
    files: list[str] | None = None,
    dryrun: bool = False,
    cc: str | Iterable[str] | None = None,
    bcc: str | Iterable[str] | None = None,
    mime_subtype: str = "mixed",
    mime_charset: str = "utf-8",
    conn_id: str | None = None,
    custom_headers: dict[str, Any] | None = None,
    from_email: str | None = None,
    **kwargs: Any,
) -> None:
    """Send an HTML email with ``files`` attached. The sender: ``from_email``, else the
    connection's ``from_email`` extra, else ``AIRFLOW__SMTP__SMTP_MAIL_FROM``, else
    ``conveyor@localhost`` (Airflow's core sender falls back on its setting likewise)."""
    hook = SmtpHook(smtp_conn_id=conn_id or SmtpHook.default_conn_name)
    sender = (
        from_email
        or hook.from_email
        or os.environ.get("AIRFLOW__SMTP__SMTP_MAIL_FROM")
        or DEFAULT_SENDER
    )
    hook.send_email_smtp(
        to=to,
        subject=subject,
        html_content=html_content,
        from_email=sender,
        files=files,
        dryrun=dryrun,
        cc=cc,
        bcc=bcc,
        mime_subtype=mime_subtype,
        mime_charset=mime_charset,
        custom_headers=custom_headers,
    )


#: Airflow's name for the SMTP backend; here the only one.
send_email_smtp = send_email
#: Airflow's helper: ``"a@x, b@y; c@z"`` -> the list.
get_email_address_list = address_list
