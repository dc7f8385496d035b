"""What a DAG author sees of the discord provider's names, with no service.

The names of docs/airflow.md's supported-modules table that map into Conveyor's
providers and that Airflow 3.3.2 has, of
airflow.providers.discord.hooks.discord_webhook to
airflow.providers.discord.operators.discord_webhook:
each name's kind, and of a class its name, template_fields and connection attributes
(difrec.describe)."""

import importlib

from airflow.sdk import DAG, task
from difrec import START, describe, rec

MODULES = {
    "airflow.providers.discord.hooks.discord_webhook": ["DiscordWebhookHook"],
    "airflow.providers.discord.notifications.discord": ["DiscordNotifier"],
    "airflow.providers.discord.operators.discord_webhook": ["DiscordWebhookOperator"],
}

with DAG("names_prov_discord", schedule=None, start_date=START, catchup=False):

    @task
    def probe(**context):
        for module, names in MODULES.items():
            loaded = importlib.import_module(module)
            rec(context, module, {name: describe(getattr(loaded, name)) for name in names})

    probe()
