"""Airflow's smtp provider: ``SmtpHook``, ``EmailOperator``, ``SmtpNotifier`` and the
``send_email`` of ``airflow.utils.email``, over the standard library's ``smtplib``."""
