"""The ``conveyor`` entry point: the command tree and the one top-level error handler.

The tree names each command by its module (:mod:`conveyor.cli.lazy`): a command line imports
the modules of the commands it names and no others, so ``conveyor version`` and
``conveyor runs list`` do not wait for the scheduler, the executors or Alembic to load.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from conveyor import __version__
from conveyor.cli import audit_trail, collector, quick_exit
from conveyor.cli.extras import extra_for, missing_extra_message
from conveyor.cli.lazy import Lazy, LazyGroup
from conveyor.exceptions import ConveyorError
from conveyor.private_files import restrict_umask

#: Every command but ``version`` and ``completion`` (below), by name: where it is, and the
#: short help ``conveyor --help`` shows for it (tests/unit/test_cli_lazy.py pins each to the
#: command's own docstring).
COMMANDS = {
    "audit": Lazy(
        "conveyor.cli.audit:audit_group",
        "The audit log: who triggered, cleared, marked, paused or changed what, and when.",
    ),
    "backfill": Lazy(
        "conveyor.cli.backfill:backfill_command",
        "Create and run the runs of DAG_ID's schedule from --from to --to (logical dates, in "
        "the DAG's time zone unless given with an offset).",
    ),
    "config": Lazy("conveyor.cli.config_values:config", "Inspect the configuration."),
    "connections": Lazy(
        "conveyor.cli.connections:connections_group", "Add, list, show and delete connections."
    ),
    "dags": Lazy("conveyor.cli.dags:dags", "Work with DAGs."),
    "db": Lazy("conveyor.cli.db:db", "Manage the metadata database."),
    "flower": Lazy(
        "conveyor.cli.cluster:flower_command",
        "Start Celery's Flower monitor on Conveyor's broker (extra arguments go to Flower).",
    ),
    "health": Lazy(
        "conveyor.cli.ops:health_command",
        "Check the store, its schema, the broker and the schedulers; exit 1 if one fails.",
    ),
    "info": Lazy(
        "conveyor.cli.info:info_command",
        "Version, Python, platform, home, store, executor, broker, DAG folder and extras.",
    ),
    "jobs": Lazy(
        "conveyor.cli.jobs:jobs_group",
        "Airflow's `jobs check`: whether a scheduler or triggerer is alive (a liveness probe).",
    ),
    "plugins": Lazy(
        "conveyor.cli.plugins:plugins_command",
        "The plugins folder's plugins as processes load them, and the modules that failed.",
    ),
    "pools": Lazy(
        "conveyor.cli.pools:pools_group", "Create, change, list, delete, import and export pools."
    ),
    "providers": Lazy(
        "conveyor.cli.providers:providers_group",
        "Install and list Airflow's own provider packages (apache-airflow-providers-*).",
    ),
    "run": Lazy(
        "conveyor.cli.run:run_command",
        "Run a DAG once, right here: TARGET is a DAG file (add DAG_ID when the file defines "
        "several) or a DAG id from the DAG folder.",
    ),
    "runs": Lazy("conveyor.cli.runs:runs_group", "Inspect DAG runs."),
    "scheduler": Lazy(
        "conveyor.cli.serve:scheduler_command",
        "Schedule and run DAGs until stopped (SIGTERM or Ctrl-C).",
    ),
    "schedulers": Lazy(
        "conveyor.cli.cluster:schedulers_command",
        "Schedulers seen by the store: host, process, last heartbeat, and which are alive.",
    ),
    "standalone": Lazy(
        "conveyor.cli.serve:standalone_command",
        "Everything on one machine: SQLite store, scheduler, local executor and web UI.",
    ),
    "roles": Lazy(
        "conveyor.cli.roles:roles_group",
        "Named roles: which DAGs their users may read or edit (and DAGs' access_control).",
    ),
    "tasks": Lazy("conveyor.cli.tasks:tasks", "Inspect task instances."),
    "triggerer": Lazy(
        "conveyor.cli.serve:triggerer_command",
        "Run deferred tasks' triggers until stopped (SIGTERM or Ctrl-C).",
    ),
    "triggerers": Lazy(
        "conveyor.cli.cluster:triggerers_command",
        "Triggerers seen by the store: host, process, triggers run, and which are alive.",
    ),
    "users": Lazy(
        "conveyor.cli.users:users_group",
        "Manage web users: admin (everything), op (trigger, clear, pause), viewer (read).",
    ),
    "variables": Lazy(
        "conveyor.cli.connections:variables_group", "Set, get, list and delete variables."
    ),
    "web": Lazy(
        "conveyor.cli.web:web_command",
        "Serve the web UI and the REST API (/api/v1) until stopped.",
    ),
    "worker": Lazy(
        "conveyor.cli.worker:worker_command",
        "Run tries from the broker on this machine until SIGTERM (Celery prefork pool).",
    ),
    "workers": Lazy(
        "conveyor.cli.cluster:workers_command",
        "Workers seen by the store: queues, what they run, their last heartbeat.",
    ),
}


class ConveyorGroup(LazyGroup):
    """Maps every ConveyorError, and a missing optional dependency, to a one-line message
    and exit code 1, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            # The audit log: the verb is read before the group consumes the arguments (which
            # imports the command's module), and recorded once it succeeded.
            verb = audit_trail.resolve(self, ctx) if ctx.parent is None else None
            collector.resume()  # the command's module is loaded (collector.py)
            result = super().invoke(ctx)
            if verb is not None:
                audit_trail.record_verb(verb)
            return result
        except ConveyorError as exc:
            raise _error(str(exc)) from exc
        except ModuleNotFoundError as exc:
            extra = extra_for(exc.name, ctx.invoked_subcommand)
            if extra is None or exc.name is None:
                raise  # not an optional dependency: a bug worth its traceback
            command = f"{ctx.command_path} {ctx.invoked_subcommand or ''}".strip()
            raise _error(missing_extra_message(command, exc.name, extra)) from None


def _error(message: str) -> click.ClickException:
    from conveyor.cli.common import CliError  # the console that prints it, loaded on an error

    return CliError(message)


@click.group(
    cls=ConveyorGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]}
)
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


def main(prog_name: str = "conveyor") -> None:
    common = sys.modules.get("conveyor.cli.common")
    if common is not None:  # a command ran in this process before: read the settings again
        common.settings.cache_clear()
    collector.pause()  # until the command's module is loaded: collector.py
    try:
        cli(prog_name=prog_name)
    except SystemExit as exc:
        if quick_exit.work_done():  # its last line is printed: skip the interpreter's teardown
            quick_exit.leave(exc.code)
        raise
    except Exception as exc:
        # A store that cannot answer or write (down, failing over, its disk full): the
        # reason in one line, not a traceback. Only a command that opened the store has
        # loaded its module, and only such a command can raise its errors.
        engine = sys.modules.get("conveyor.store.engine")
        if engine is None or not isinstance(exc, engine.STORE_UNREACHABLE):
            raise
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        click.echo(f"Error: the store is unreachable or cannot write: {reason}", err=True)
        sys.exit(1)
    finally:
        collector.resume()  # whatever happened (--help, a usage error): as the caller had it
