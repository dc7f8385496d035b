"""``conveyor plugins``: the plugins of the plugins folder as a process loads them at its
start (Airflow's ``airflow plugins``), with what each declares and the modules that failed.

Like Airflow's command, it imports the plugins folder: a plugin module runs as it would in
the scheduler or a worker.
"""

from __future__ import annotations

import click
from rich.markup import escape

from conveyor.airflow_compat import plugins
from conveyor.cli.common import console, err_console, settings
from conveyor.cli.output import output_option, write_data, write_rows

#: The lists a plugin declares, in the order they are shown.
KEYS = (
    "operators",
    "hooks",
    "sensors",
    "macros",
    "timetables",
    "listeners",
    "operator_extra_links",
    "global_operator_extra_links",
    "fastapi_apps",
    "fastapi_root_middlewares",
    "external_views",
    *plugins.UI_KEYS,
)


def _item_name(item: object) -> str:
    if isinstance(item, dict):  # a FastAPI app, a middleware, a view: Airflow's dicts
        return str(item.get("name") or item.get("url_prefix") or item.get("href") or item)
    name = getattr(item, "__qualname__", None) or getattr(item, "__name__", None)
    if name is None:  # an instance (a listener object): its class
        name = type(item).__qualname__
    module = getattr(item, "__module__", None) or type(item).__module__
    return f"{module}.{name}"


@click.command("plugins")
@output_option
def plugins_command(output: str) -> None:
    """The plugins folder's plugins as processes load them, and the modules that failed."""
    folder = settings().plugins_path
    found: dict[str, type[plugins.AirflowPlugin]] = {}
    errors: list[str] = []
    if folder.is_dir():
        found, errors = plugins.load_at_start(str(folder))
    listed = [
        {
            "name": name,
            "source": plugin.__module__,
            **{
                key: [_item_name(item) for item in getattr(plugin, key, None) or []] for key in KEYS
            },
        }
        for name, plugin in sorted(found.items())
    ]
    if write_data(output, {"plugins": listed, "import_errors": errors}):
        return
    rows = [
        (
            name,
            plugin.__module__,
            "; ".join(
                f"{key}: {', '.join(_item_name(item) for item in getattr(plugin, key))}"
                for key in KEYS
                if getattr(plugin, key, None)
            ),
        )
        for name, plugin in sorted(found.items())
    ]
    write_rows(output, ("name", "source", "declares"), rows, empty=f"no plugins in {folder}")
    for message in errors:
        err_console.print(f"[bold red]import error:[/] {escape(message)}", highlight=False)
    if output == "table":
        console.print(f"[dim]{len(listed)} plugin(s) from {escape(str(folder))}[/]")
