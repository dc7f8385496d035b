"""The ``conveyor`` entry point: the command tree and the one top-level error handler."""

from __future__ import annotations

import logging
from typing import Any

import click

from conveyor import __version__
from conveyor.cli import audit as audit_cli
from conveyor.cli import (
    cluster,
    dags,
    db,
    manual,
    ops,
    quick_exit,
    run,
    runs,
    serve,
    tasks,
    test_runs,
)
from conveyor.cli import pools as pools_cli
from conveyor.cli import users as users_cli
from conveyor.cli import web as web_cli
from conveyor.cli.backfill import backfill_command
from conveyor.cli.common import CliError, settings
from conveyor.cli.config_values import get_value
from conveyor.cli.connections import connections_group, variables_group
from conveyor.cli.extras import extra_for, missing_extra_message
from conveyor.cli.info import info_command
from conveyor.cli.output import output_option, write_data, write_rows
from conveyor.config import mask
from conveyor.exceptions import ConveyorError
from conveyor.private_files import restrict_umask


class ConveyorGroup(click.Group):
    """Maps every ConveyorError, and a missing optional dependency, to a one-line message
    and exit code 1, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        # The audit log: the verb is read before the group consumes the arguments, and
        # recorded once it succeeded.
        verb = audit_cli.resolve(self, ctx) if ctx.parent is None else None
        try:
            result = super().invoke(ctx)
            if verb is not None:
                audit_cli.record_verb(verb)
            return result
        except ConveyorError as exc:
            raise CliError(str(exc)) from exc
        except ModuleNotFoundError as exc:
            extra = extra_for(exc.name, ctx.invoked_subcommand)
            if extra is None or exc.name is None:
                raise  # not an optional dependency: a bug worth its traceback
            command = f"{ctx.command_path} {ctx.invoked_subcommand or ''}".strip()
            raise CliError(missing_extra_message(command, exc.name, extra)) from None


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
@output_option
def config_show(output: str) -> None:
    """Print every setting, its value and where it came from.

    With -o json or yaml: {"settings": {NAME: {"value": ..., "source": ...}}}, secrets masked.
    """
    from conveyor.config import load_config

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


@cli.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL.

    \b
    bash: eval "$(conveyor completion bash)"   (in ~/.bashrc)
    zsh:  eval "$(conveyor completion zsh)"    (in ~/.zshrc)
    fish: conveyor completion fish > ~/.config/fish/completions/conveyor.fish
    """
    from click.shell_completion import get_completion_class

    found = get_completion_class(shell)
    assert found is not None  # click knows every shell the Choice allows
    root = ctx.find_root()
    script = found(root.command, {}, root.info_name or "conveyor", "_CONVEYOR_COMPLETE")
    click.echo(script.source())


cli.add_command(run.run_command)
cli.add_command(serve.scheduler_command)
cli.add_command(serve.standalone_command)
cli.add_command(serve.triggerer_command)
cli.add_command(dags.dags)
dags.dags.add_command(runs.dags_list_runs)
dags.dags.add_command(test_runs.dags_test)
cli.add_command(runs.runs_group)
runs.runs_group.add_command(manual.runs_clear)
runs.runs_group.add_command(manual.runs_mark)
cli.add_command(tasks.tasks)
tasks.tasks.add_command(manual.tasks_clear)
tasks.tasks.add_command(manual.tasks_mark)
tasks.tasks.add_command(test_runs.tasks_test)
cli.add_command(db.db)
cli.add_command(cluster.worker_command)
cli.add_command(cluster.workers_command)
cli.add_command(cluster.schedulers_command)
cli.add_command(cluster.triggerers_command)
cli.add_command(cluster.flower_command)
cli.add_command(connections_group)
cli.add_command(variables_group)
cli.add_command(backfill_command)
cli.add_command(users_cli.users_group)
cli.add_command(web_cli.web_command)
cli.add_command(ops.health_command)
cli.add_command(pools_cli.pools_group)
cli.add_command(info_command)
cli.add_command(audit_cli.audit_group)
config.add_command(get_value)


def main() -> None:
    settings.cache_clear()
    try:
        cli(prog_name="conveyor")
    except SystemExit as exc:
        if run.work_done():  # its last line is printed: skip the interpreter's teardown
            quick_exit.leave(exc.code)
        raise
