"""Where an ``export`` command writes: a ``.json`` file, or standard output for ``-``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from conveyor.cli.common import CliError, err_console


def write_json(target: str, data: dict[str, Any], what: str) -> None:
    """Write ``data`` as Airflow's exports do (indented JSON) and say how many were written.

    The file is created for this user only (the CLI's umask): it may hold secrets.
    """
    text = json.dumps(data, indent=4, ensure_ascii=False) + "\n"
    if target == "-":
        click.echo(text, nl=False)
    else:
        path = Path(target)
        if path.suffix.lower() != ".json":
            raise CliError(f"{target}: exports are JSON; name the file *.json (or - for stdout)")
        try:
            path.write_text(text)
        except OSError as exc:
            raise CliError(f"{target}: cannot write: {exc.strerror}") from None
    err_console.print(f"{len(data)} {what} exported to {'stdout' if target == '-' else target}")
