"""``SmtpNotifier`` (``send_smtp_notification``): a callback that mails when a task or a run
ends, as Airflow's. ``to``, ``from_email``, ``subject``, ``html_content``, ``files``, ``cc``,
``bcc``, ``custom_headers``, ``mime_charset``, ``mime_subtype`` and ``smtp_conn_id`` are
rendered with the callback's context; a subject or body left out says what
ended, how and where (the connection's ``subject_template`` / ``html_content_template``
extras, when set, are used instead)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from conveyor.notifiers import DEFAULT_MESSAGE, message_values
from conveyor.providers._fields import keep_fields
from conveyor.providers._notifier import Notifier
from conveyor.providers.smtp.hook import MailSettings, SmtpHook


class SmtpNotifier(MailSettings, Notifier):
    template_fields: ClassVar[tuple[str, ...]] = (
        "from_email",
        "to",
        "subject",
        "html_content",
        "files",
        "cc",
        "bcc",
        "custom_headers",
        "mime_charset",
        "mime_subtype",
        "smtp_conn_id",
    )
    conn_attr: ClassVar[str] = "smtp_conn_id"

    to: str | Iterable[str]
    from_email: str | None
    subject: str | None
    html_content: str | None
    files: list[str] | None
    cc: str | Iterable[str] | None
    bcc: str | Iterable[str] | None
    smtp_conn_id: str

    def __init__(
        self,
        to: str | Iterable[str],
        from_email: str | None = None,
        subject: str | None = None,
        html_content: str | None = None,
        files: list[str] | None = None,
        cc: str | Iterable[str] | None = None,
        bcc: str | Iterable[str] | None = None,
        mime_subtype: str = "mixed",
        mime_charset: str = "utf-8",
        custom_headers: dict[str, Any] | None = None,
        smtp_conn_id: str = SmtpHook.default_conn_name,
        auth_type: str = "basic",
        **kwargs: Any,
    ) -> None:
        keep_fields(self, SmtpNotifier, locals())
        keep_fields(self, MailSettings, locals())

    def notify(self, context: dict[str, Any]) -> None:
        # The default message names these; a context without one renders it as None.
        context = message_values(context)
        found = self.render(context)  # the MIME settings and headers too
        with self.smtp_hook(found.pop("smtp_conn_id")) as hook:
            subject = self.subject or hook.subject_template or DEFAULT_MESSAGE
            body = self.html_content or hook.html_content_template or DEFAULT_MESSAGE
            found["subject"] = str(self.render_one(subject, context)).strip().splitlines()[0][:200]
            found["html_content"] = self.render_one(body, context)
            hook.send_email_smtp(**found)


#: Airflow's lower-case name of the notifier.
send_smtp_notification = SmtpNotifier
