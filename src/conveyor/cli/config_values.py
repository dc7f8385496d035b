"""``conveyor config``: every setting (``show``), or one by Airflow's ``SECTION KEY`` or
Conveyor's name (``get-value``).

Airflow's keys are read through ``airflow_compat.configuration.conf``, the object DAG files
read, so the command prints what a DAG file would see (an ``AIRFLOW__SECTION__KEY``
variable wins, as in Airflow).
"""

from __future__ import annotations

from typing import Any

import click

from conveyor.airflow_compat.airflow_defaults import DEFAULTS
from conveyor.airflow_compat.configuration import FIXED, SETTINGS, conf
from conveyor.cli.common import CliError, settings
from conveyor.cli.output import output_option, write_data, write_rows
from conveyor.config import SECRET_KEYS, Settings, load_config, mask


@click.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("show")
@output_option
def config_show(output: str) -> None:
    """Print every setting, its value and where it came from.

    With -o json or yaml: {"settings": {NAME: {"value": ..., "source": ...}}}, secrets masked.
    """
    loaded = load_config()
    found: dict[str, dict[str, Any]] = {}
    for key, value in loaded.settings.model_dump(mode="json").items():
        shown = mask(key, value)
        found[key] = {
            # Native JSON values (numbers, booleans, null) unless masking changed the text.
            "value": value if shown == ("" if value is None else str(value)) else shown,
            "source": loaded.sources.get(key, "default"),
        }
    if write_data(output, {"settings": found}):
        return
    write_rows(
        output,
        ["setting", "value", "from"],
        [[key, mask(key, item["value"]), item["source"]] for key, item in found.items()],
    )


@config.command("get-value")
@click.argument("section_or_name")
@click.argument("key", required=False)
@click.option("--reveal", is_flag=True, help="Print passwords and keys in clear.")
def get_value(section_or_name: str, key: str | None, reveal: bool) -> None:
    """Print one setting: Airflow's SECTION KEY (core dags_folder) or Conveyor's NAME.

    Passwords in URLs and keys are masked unless --reveal.
    """
    if key is None:
        name = section_or_name.lower()
        if name not in Settings.model_fields:
            raise CliError(
                f"no setting {section_or_name!r}: `conveyor config show` lists them, or give "
                "Airflow's SECTION KEY"
            )
        value = getattr(settings(), name)
    else:
        where = (section_or_name.lower(), key.lower())
        if where not in SETTINGS and where not in FIXED and DEFAULTS.get(where) is None:
            known = ", ".join(f"{s} {k}" for s, k in sorted({*SETTINGS, *FIXED}))
            raise CliError(
                f"Airflow setting [{section_or_name}] {key} has no Conveyor equivalent "
                f"and no Airflow default; known: {known}, and Airflow's keys with a default"
            )
        name = SETTINGS.get(where, "")
        value = conf.get(*where)
    text = "" if value is None else str(value)
    click.echo(text if reveal or name not in SECRET_KEYS | {"fernet_key"} else mask(name, text))
