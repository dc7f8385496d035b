"""The ``conveyor`` entry point: the command tree and the one top-level error handler."""

from __future__ import annotations

import logging
from typing import Any

import click

from conveyor import __version__
from conveyor.cli import cluster, dags, db, ops, run, runs, serve, tasks
from conveyor.cli import pools as pools_cli
from conveyor.cli import users as users_cli
from conveyor.cli import web as web_cli
from conveyor.cli.backfill import backfill_command
from conveyor.cli.common import CliError, console, settings
from conveyor.cli.connections import connections_group, variables_group
from conveyor.config import mask
from conveyor.exceptions import ConveyorError
from conveyor.private_files import restrict_umask


class ConveyorGroup(click.Group):
    """Maps every ConveyorError to a one-line message and exit code 1, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConveyorError as exc:
            raise CliError(str(exc)) from exc


@click.group(cls=ConveyorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log what the engine does.")
def cli(verbose: bool) -> None:
    """Conveyor: DAGs of tasks, scheduled and run on one machine or a cluster."""
    restrict_umask()  # keys, the store, logs and the code cache: for this user only
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@cli.command()
def version() -> None:
    """Print Conveyor's version."""
    click.echo(f"conveyor {__version__}")


@cli.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("show")
def config_show() -> None:
    """Print every setting, its value and where it came from."""
    from rich.table import Table

    from conveyor.config import load_config

    loaded = load_config()
    table = Table("setting", "value", "from", box=None)
    for key, value in loaded.settings.model_dump().items():
        table.add_row(key, mask(key, value), loaded.sources.get(key, "default"))
    console.print(table)


cli.add_command(run.run_command)
cli.add_command(serve.scheduler_command)
cli.add_command(serve.standalone_command)
cli.add_command(dags.dags)
cli.add_command(runs.runs_group)
cli.add_command(tasks.tasks)
cli.add_command(db.db)
cli.add_command(cluster.worker_command)
cli.add_command(cluster.workers_command)
cli.add_command(cluster.schedulers_command)
cli.add_command(cluster.flower_command)
cli.add_command(connections_group)
cli.add_command(variables_group)
cli.add_command(backfill_command)
cli.add_command(users_cli.users_group)
cli.add_command(web_cli.web_command)
cli.add_command(ops.health_command)
cli.add_command(pools_cli.pools_group)


def main() -> None:
    settings.cache_clear()
    cli(prog_name="conveyor")
