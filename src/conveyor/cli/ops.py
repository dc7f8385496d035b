"""``conveyor health``: the checks of ``conveyor.health`` for people and container probes."""

from __future__ import annotations

import json

import click
from rich.markup import escape

from conveyor.cli.common import console, settings, translate_errors
from conveyor.health import CHECKS, check


@click.command("health")
@click.option(
    "--only",
    "only",
    multiple=True,
    type=click.Choice(CHECKS),
    help="Run only this check (repeatable); e.g. a worker's probe skips the schedulers.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@translate_errors
def health_command(only: tuple[str, ...], as_json: bool) -> None:
    """Check the store, its schema, the broker and the schedulers; exit 1 if one fails."""
    report = check(settings(), only=only or None)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for item in report.checks:
            mark = "[green]ok[/]  " if item.ok else "[red]FAIL[/]"
            console.print(f"{mark} {item.name:<10} {escape(item.detail)}", soft_wrap=True)
    if not report.healthy:
        raise SystemExit(1)
