"""What a DAG author sees of the smtp provider's names, with no service.

The names of docs/airflow.md's supported-modules table that map into Conveyor's
providers and that Airflow 3.3.2 has, of
airflow.operators.email to
airflow.utils.email:
each name's kind, and of a class its name, template_fields and connection attributes
(difrec.describe)."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, describe, rec

MODULES = {
    "airflow.operators.email": ["EmailOperator"],
    "airflow.providers.smtp.notifications.smtp": ["SmtpNotifier", "send_smtp_notification"],
    "airflow.providers.smtp.operators.smtp": ["EmailOperator"],
    "airflow.utils.email": ["get_email_address_list", "send_email", "send_email_smtp"],
}

with DAG("names_prov_smtp", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: describe(getattr(loaded, name)) for name in names})

    probe()
