"""``conveyor info``: what a bug report needs about this installation, secrets masked."""

from __future__ import annotations

import platform
import re
import sys
from importlib import metadata

import click

from conveyor import __version__
from conveyor.cli.common import settings
from conveyor.cli.output import output_option, write_data, write_rows
from conveyor.config import mask

_NAME = re.compile(r"[A-Za-z0-9._-]+")
_EXTRA = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")


def installed_extras() -> list[str]:
    """The extras of ``conveyor`` whose every package is installed (``dev`` left out)."""
    try:
        requires = metadata.requires("conveyor") or []
    except metadata.PackageNotFoundError:  # running from a source tree
        return []
    needs: dict[str, list[str]] = {}
    for line in requires:
        extra = _EXTRA.search(line)
        name = _NAME.match(line)
        if extra and name and extra.group(1) != "dev":
            needs.setdefault(extra.group(1), []).append(name.group(0))
    return sorted(extra for extra, names in needs.items() if all(map(_installed, names)))


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


@click.command("info")
@output_option
def info_command(output: str) -> None:
    """Version, Python, platform, home, store, executor, broker, DAG folder and extras."""
    config = settings()
    found = {
        "version": __version__,
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": platform.platform(),
        "home": str(config.home),
        "store": mask("database_url", config.database_url or config.db_url),
        "executor": config.executor,
        "broker": mask("broker_url", config.broker_url),
        "dags_folder": str(config.dags_path),
        "extras": ", ".join(installed_extras()) or "none",
    }
    if write_data(output, found):
        return
    write_rows(output, ["name", "value"], [[k, v] for k, v in found.items()])
