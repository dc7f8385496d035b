"""``EmailOperator``: send an email, as Airflow's (the smtp provider's, and the core one of
``airflow.operators.email`` / 1.10's ``email_operator``). Templated: ``to``, ``from_email``,
``subject``, ``html_content`` (a ``.html`` file name is read as a template), ``files``,
``cc``, ``bcc``, ``conn_id``, ``custom_headers``, ``mime_charset`` and ``mime_subtype``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from conveyor.model.task import BaseOperator
from conveyor.providers._fields import keep_fields
from conveyor.providers.smtp.hook import MailSettings, SmtpHook


class EmailOperator(MailSettings, BaseOperator):
    template_fields: ClassVar[Sequence[str]] = (
        "to",
        "from_email",
        "subject",
        "html_content",
        "files",
        "cc",
        "bcc",
        "conn_id",
        "custom_headers",
        "mime_charset",
        "mime_subtype",
    )
    template_ext: Sequence[str] = (".html",)
    ui_color = "#e6faf9"

    to: str | list[str]
    subject: str
    html_content: str
    from_email: str | None
    cc: str | list[str] | None
    bcc: str | list[str] | None

    def __init__(
        self,
        task_id: str,
        *,
        to: str | list[str],
        subject: str,
        html_content: str,
        from_email: str | None = None,
        files: list[str] | None = None,
        cc: str | list[str] | None = None,
        bcc: str | list[str] | None = None,
        mime_subtype: str = "mixed",
        mime_charset: str = "utf-8",
        conn_id: str | None = None,
        custom_headers: dict[str, Any] | None = None,
        auth_type: str = "basic",
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, EmailOperator, locals())
        keep_fields(self, MailSettings, locals())
        self.files = files or []
        self.conn_id = conn_id or SmtpHook.default_conn_name

    def execute(self, context: dict[str, Any]) -> None:
        with self.smtp_hook(self.conn_id) as hook:
            hook.send_email_smtp(
                to=self.to,
                subject=self.subject,
                html_content=self.html_content,
                from_email=self.from_email,
                files=self.files,
                cc=self.cc,
                bcc=self.bcc,
                **self.mime_options,
            )
