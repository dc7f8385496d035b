"""Airflow's smtp provider: ``SmtpHook``, ``EmailOperator``, ``SmtpNotifier`` and the
``send_email`` of ``airflow.utils.email``, over the standard library's ``smtplib``."""

from __future__ import annotations

from conveyor.providers.declaration import ConnectionType, FormField, Provider, same_names

_M = "conveyor.providers.smtp"
_SMTP_HOOK = same_names(f"{_M}.hook", "SmtpHook")
_EMAIL_OPERATOR = same_names(f"{_M}.operator", "EmailOperator")

PROVIDER = Provider(
    name="smtp",  # the standard library's smtplib: no extra
    connection_types=(
        ConnectionType(
            "email",
            f"{_M}.hook:SmtpHook",
            "Email (SMTP)",
            aliases=("smtp",),
            fields=(
                FormField("host", "SMTP server", "smtp.example.com"),
                FormField("port", "Port", "587"),
            ),
            hidden=("schema",),
            extras=(
                FormField("from_email", "From", "conveyor@example.com"),
                FormField("timeout", "Timeout (seconds)", "30"),
                FormField("retry_limit", "Retries", "5"),
            ),
        ),
    ),
    airflow_modules={
        "airflow.providers.smtp.hooks.smtp": _SMTP_HOOK,
        "airflow.providers.smtp.operators.smtp": _EMAIL_OPERATOR,
        "airflow.providers.smtp.notifications.smtp": same_names(
            f"{_M}.notifier", "SmtpNotifier", "send_smtp_notification"
        ),
        # The core's mail (2.x; 3.x keeps airflow.utils.email): the smtp provider's path here.
        "airflow.operators.email": _EMAIL_OPERATOR,
        "airflow.utils.email": same_names(
            f"{_M}.utils_email", "send_email", "send_email_smtp", "get_email_address_list"
        ),
        "airflow.operators.email_operator": _EMAIL_OPERATOR,
        "airflow.operators": _EMAIL_OPERATOR,
    },
)
