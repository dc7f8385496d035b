"""``SmtpHook``: send mail through the SMTP server an ``smtp`` connection names, as Airflow's.

The connection gives host, port, login and password; its extra may set ``from_email``,
``timeout`` (seconds, 30), ``retry_limit`` (5), and how to secure the link: Airflow's
``disable_ssl`` / ``disable_tls`` (SMTP over SSL unless ``disable_ssl``; STARTTLS on a
plain link unless ``disable_tls``), or Conveyor's ``ssl`` / ``starttls`` which say it
directly and win. A server that cannot be reached fails with the connection's id, host and
port, never its password.
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl as ssl_module
from collections.abc import Iterable
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate
from types import TracebackType
from typing import Any

from conveyor.connections import Connection, get_connection, masking
from conveyor.exceptions import AirflowException, TaskError
from conveyor.providers._hook import HookNames, ProviderHook


class SmtpError(TaskError, AirflowException):
    """Mail could not be sent; names the connection (``except AirflowException`` catches it)."""


_TRUE = (True, "true", "True", "1", "yes", "on", 1)


def _flag(value: Any) -> bool:
    return value in _TRUE


def address_list(addresses: str | Iterable[str] | None) -> list[str]:
    """``"a@x, b@y; c@z"`` or a list -> the addresses (Airflow's ``get_email_address_list``)."""
    if not addresses:
        return []
    if isinstance(addresses, str):
        return [a.strip() for a in re.split(r"[,;]", addresses) if a.strip()]
    return [str(a).strip() for a in addresses if str(a).strip()]


def build_message(
    *,
    from_email: str,
    to: str | Iterable[str],
    subject: str,
    html_content: str,
    files: Iterable[str] | None = None,
    cc: str | Iterable[str] | None = None,
    bcc: str | Iterable[str] | None = None,
    mime_subtype: str = "mixed",
    mime_charset: str = "utf-8",
    custom_headers: dict[str, Any] | None = None,
) -> tuple[MIMEMultipart, list[str]]:
    """The message (the HTML part, then each file attached under its base name) and every
    recipient it goes to (to, cc and bcc; bcc shows in no header)."""
    to_list, cc_list, bcc_list = address_list(to), address_list(cc), address_list(bcc)
    if not to_list:
        raise SmtpError("an email needs at least one recipient in 'to'")
    message = MIMEMultipart(mime_subtype)
    message["Subject"] = subject
    message["From"] = from_email
    message["To"] = ", ".join(to_list)
    if cc_list:
        message["CC"] = ", ".join(cc_list)
    message["Date"] = formatdate(localtime=True)
    message.attach(MIMEText(html_content, "html", mime_charset))
    for path in files or ():
        name = os.path.basename(path)
        try:
            with open(path, "rb") as handle:
                part = MIMEApplication(handle.read(), Name=name)
        except OSError as exc:
            raise SmtpError(f"cannot attach {path!r}: {exc.strerror or exc}") from None
        part["Content-Disposition"] = f'attachment; filename="{name}"'
        part["Content-ID"] = f"<{name}>"
        message.attach(part)
    for key, value in (custom_headers or {}).items():
        message[key] = value
    return message, to_list + cc_list + bcc_list


class SmtpHook(ProviderHook):
    """``SmtpHook(smtp_conn_id="smtp_default")``: ``with SmtpHook() as hook:
    hook.send_email_smtp(to=..., subject=..., html_content=...)``. ``get_conn()`` connects
    (and logs in when the connection has a login) and returns the hook; the live
    ``smtplib`` client is ``hook.smtp_client``."""

    names = HookNames("smtp_conn_id", "smtp_default", "email", "Email")

    def __init__(
        self, smtp_conn_id: str = names.default_conn_name, auth_type: str = "basic", **kwargs: Any
    ) -> None:
        self.smtp_conn_id = smtp_conn_id
        self.auth_type = auth_type
        self.smtp_client: smtplib.SMTP | None = None
        self._conn: Connection | None = None

    # -- the connection's settings ---------------------------------------------------------
    @property
    def conn(self) -> Connection:
        if self._conn is None:
            self._conn = get_connection(self.smtp_conn_id)
            if self._conn.password:
                masking.register(self._conn.password)
        return self._conn

    @property
    def host(self) -> str:
        return self.conn.host or "localhost"

    def _switch(self, name: str, off_name: str) -> bool:
        """The extra ``name``, else the opposite of ``off_name`` (older providers' spelling)."""
        extra = self.conn.extra_dejson
        if name in extra:
            return _flag(extra[name])
        return not _flag(extra.get(off_name, False))

    @property
    def use_ssl(self) -> bool:
        return self._switch("ssl", "disable_ssl")

    @property
    def smtp_starttls(self) -> bool:
        return self._switch("starttls", "disable_tls")

    @property
    def port(self) -> int:
        return self.conn.port or (465 if self.use_ssl else 25)

    @property
    def smtp_user(self) -> str | None:
        return self.conn.login

    @property
    def smtp_password(self) -> str | None:
        return self.conn.password

    @property
    def timeout(self) -> float:
        return float(self.conn.extra_dejson.get("timeout", 30))

    @property
    def retry_limit(self) -> int:
        return max(1, int(self.conn.extra_dejson.get("retry_limit", 5)))

    @property
    def from_email(self) -> str | None:
        found = self.conn.extra_dejson.get("from_email") or self.conn.extra_dejson.get("from")
        return str(found) if found else None

    @property
    def subject_template(self) -> str | None:
        return self.conn.extra_dejson.get("subject_template")

    @property
    def html_content_template(self) -> str | None:
        return self.conn.extra_dejson.get("html_content_template")

    # -- the link --------------------------------------------------------------------------
    def _where(self) -> str:
        return f"connection {self.smtp_conn_id!r} ({self.host}:{self.port})"

    def _client(self) -> smtplib.SMTP:
        if self.use_ssl:
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                timeout=self.timeout,
                context=ssl_module.create_default_context(),
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def get_conn(self) -> SmtpHook:
        """Connect and log in; retried up to ``retry_limit`` times when the server hangs up."""
        if self.smtp_client is not None:
            return self
        for attempt in range(1, self.retry_limit + 1):
            try:
                client = self._client()
                break
            except smtplib.SMTPServerDisconnected:
                if attempt == self.retry_limit:
                    raise SmtpError(f"{self._where()}: the SMTP server hung up") from None
            except (OSError, smtplib.SMTPException) as exc:
                raise SmtpError(
                    f"{self._where()}: could not reach the SMTP server: {exc}"
                ) from None
        try:
            if self.smtp_starttls and not self.use_ssl:
                client.starttls(context=ssl_module.create_default_context())
            if self.smtp_user and self.smtp_password:
                client.login(self.smtp_user, self.smtp_password)
        except (OSError, smtplib.SMTPException) as exc:
            client.close()
            reason = masking.redact(str(exc))
            raise SmtpError(f"{self._where()}: {type(exc).__name__}: {reason}") from None
        self.smtp_client = client
        return self

    def __enter__(self) -> SmtpHook:
        return self.get_conn()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.smtp_client is not None:
            try:
                self.smtp_client.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp_client.close()
            self.smtp_client = None

    # -- sending ---------------------------------------------------------------------------
    def send_email_smtp(
        self,
        *,
        to: str | Iterable[str],
        subject: str | None = None,
        html_content: str | None = None,
        from_email: str | None = None,
        files: Iterable[str] | None = None,
        dryrun: bool = False,
        cc: str | Iterable[str] | None = None,
        bcc: str | Iterable[str] | None = None,
        mime_subtype: str = "mixed",
        mime_charset: str = "utf-8",
        custom_headers: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Build the message and send it (``dryrun``: build only)."""
        sender = from_email or self.from_email
        if not sender:
            raise SmtpError(
                f"connection {self.smtp_conn_id!r}: no sender: give from_email, or set "
                "from_email in the connection's extra"
            )
        message, recipients = build_message(
            from_email=sender,
            to=to,
            subject=subject if subject is not None else "",
            html_content=html_content if html_content is not None else "",
            files=files,
            cc=cc,
            bcc=bcc,
            mime_subtype=mime_subtype,
            mime_charset=mime_charset,
            custom_headers=custom_headers,
        )
        if dryrun:
            return
        opened_here = self.smtp_client is None
        self.get_conn()
        assert self.smtp_client is not None
        try:
            self.smtp_client.sendmail(sender, recipients, message.as_string())
        except (OSError, smtplib.SMTPException) as exc:
            raise SmtpError(
                f"{self._where()}: sending failed: {type(exc).__name__}: {masking.redact(str(exc))}"
            ) from None
        finally:
            if opened_here:
                self.close()
        self.log.info("Sent an email to %s", recipients)


class MailSettings:
    """What ``EmailOperator`` and ``SmtpNotifier`` keep beside the message itself (their
    ``__init__`` calls ``keep_fields(self, MailSettings, locals())``)."""

    mime_subtype: str
    mime_charset: str
    custom_headers: dict[str, Any] | None
    auth_type: str

    def smtp_hook(self, conn_id: str) -> SmtpHook:
        return SmtpHook(smtp_conn_id=conn_id, auth_type=self.auth_type)

    @property
    def mime_options(self) -> dict[str, Any]:
        """The keywords of ``send_email_smtp`` beside the message's own (``to``, ``subject``,
        ...): the kept MIME settings and headers."""
        return {
            "mime_subtype": self.mime_subtype,
            "mime_charset": self.mime_charset,
            "custom_headers": self.custom_headers,
        }
