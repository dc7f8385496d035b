"""``email=`` with ``email_on_failure`` / ``email_on_retry``: mail through the smtp provider.

Airflow sends these through its configured SMTP server; Conveyor sends them the way
``airflow.utils.email.send_email`` and ``EmailOperator`` do (``providers/smtp``), through
the connection ``smtp_default`` (Airflow's name for it) when that connection exists.
Without it, the try's log says the mail was not sent and why, instead of failing the
callback.
"""

from __future__ import annotations

from typing import Any

#: The connection the mail goes through, as in Airflow.
SMTP_CONN_ID = "smtp_default"


class EmailAlert:
    """A task callback that mails ``to`` about the try, when SMTP is configured."""

    def __init__(self, to: str | list[str], what: str) -> None:
        self.to = [to] if isinstance(to, str) else list(to)
        self.what = what

    def __call__(self, context: dict[str, Any]) -> None:
        from conveyor.connections import get_connection
        from conveyor.exceptions import NotFoundError
        from conveyor.notifiers import render_message
        from conveyor.providers.smtp.utils_email import send_email

        try:
            get_connection(SMTP_CONN_ID)
        except NotFoundError:
            print(
                f"[conveyor] email_on_{self.what}: not sent to {', '.join(self.to)}: no "
                f"connection {SMTP_CONN_ID!r} is configured (see docs/airflow.md)",
                flush=True,
            )
            return
        subject = (
            "[conveyor] {{ ti.dag_id }}.{{ ti.task_id }} "
            + ("failed" if self.what == "failure" else "is up for retry")
            + " (run {{ run_id }}, try {{ ti.try_number }})"
        )
        body = subject + "{% if exception %}<br>Exception:<br><pre>{{ exception }}</pre>{% endif %}"
        send_email(
            self.to,
            render_message(subject, context),
            render_message(body, context),
            conn_id=SMTP_CONN_ID,
        )
        print(f"[conveyor] email_on_{self.what}: sent to {', '.join(self.to)}", flush=True)

    def __repr__(self) -> str:
        return f"EmailAlert(to={self.to}, on={self.what})"


def _added(existing: Any, callback: EmailAlert) -> list[Any]:
    if existing is None:
        return [callback]
    return [*(existing if isinstance(existing, list | tuple) else [existing]), callback]


def add_email_callbacks(
    kwargs: dict[str, Any], to: str | list[str], *, on_failure: bool, on_retry: bool
) -> None:
    """Add the mail callbacks to an operator's keyword arguments, beside any given."""
    if on_failure:
        kwargs["on_failure_callback"] = _added(
            kwargs.get("on_failure_callback"), EmailAlert(to, "failure")
        )
    if on_retry:
        kwargs["on_retry_callback"] = _added(
            kwargs.get("on_retry_callback"), EmailAlert(to, "retry")
        )
