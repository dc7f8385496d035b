"""The command tree loads lazily: a command line imports the modules of the commands it
names, ``--help`` imports none, and the short help ``--help`` shows is the command's own."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from cli_processes import run_script_fresh
from conveyor.cli.lazy import LazyGroup
from conveyor.cli.main import cli

#: Runs a command line in a fresh interpreter and writes its exit code, its output and the
#: modules it imported to argv[1]; with --then-load-all, also its output once every command
#: of the tree is loaded.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    import click
    from click.testing import CliRunner
    from conveyor.cli.main import cli

    def load_all(group):
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            if isinstance(command, click.Group):
                load_all(command)

    then_load_all = sys.argv[2] == "--then-load-all"
    args = sys.argv[3 if then_load_all else 2:]
    result = CliRunner().invoke(cli, args, prog_name="conveyor")
    if not isinstance(result.exception, (SystemExit, type(None))):
        raise result.exception
    found = {"code": result.exit_code, "output": result.output, "modules": sorted(sys.modules)}
    if then_load_all:
        load_all(cli)
        found["loaded"] = CliRunner().invoke(cli, args, prog_name="conveyor").output
    with open(sys.argv[1], "w") as out:
        json.dump(found, out)
    """
)

#: What no command that only reads or prints may import: Alembic, the DAG-file processor,
#: the executors, the scheduler's loop and the hop's statements.
HEAVY = (
    "alembic",
    "conveyor.loading.processor",
    "conveyor.executors",
    "conveyor.scheduler.loop",
    "conveyor.store.hop.steps",
    "conveyor.engine.kept",
)

#: What the root group itself imports, whatever the command line.
ROOT_MODULES = {
    "conveyor.cli",
    "conveyor.cli.audit_trail",
    "conveyor.cli.collector",
    "conveyor.cli.extras",
    "conveyor.cli.lazy",
    "conveyor.cli.main",
    "conveyor.cli.quick_exit",
}


def run_fresh(tmp_path: Path, *args: str) -> dict[str, Any]:
    """``conveyor ARGS`` in a new interpreter, on an empty SQLite home of its own: what
    :data:`SCRIPT` found."""
    found = run_script_fresh(tmp_path, SCRIPT, *args)
    found["modules"] = set(found["modules"])
    return found


def imported(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules for n in names if m == n or m.startswith(n + "."))


def lazy_groups(group: click.Group) -> Iterator[LazyGroup]:
    """Every lazy group of the tree, loading each command on the way."""
    if isinstance(group, LazyGroup):
        yield group
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from lazy_groups(command)


def test_each_lazy_entry_names_its_command_and_its_short_help() -> None:
    seen = 0
    for group in lazy_groups(cli):
        for name, entry in group.lazy.items():
            command = entry.load()
            assert command.name == name, entry.target
            assert not command.hidden and not command.deprecated, entry.target
            stand_in = click.Command(name, help=entry.help)
            for limit in (20, 45, 60, 1000):
                assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit), (
                    f"{entry.target}: the short help of its Lazy entry is not its docstring's"
                )
            seen += 1
    assert seen >= 29  # the root's commands, and those of dags, runs and tasks from elsewhere


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        (["--help"], set()),
        (["dags", "--help"], {"conveyor.cli.dags", "conveyor.cli.common", "conveyor.cli.output"}),
    ],
)
def test_help_imports_no_other_command_and_shows_what_the_loaded_commands_say(
    tmp_path: Path, args: list[str], allowed: set[str]
) -> None:
    found = run_fresh(tmp_path, "--then-load-all", *args)
    assert found["code"] == 0
    assert {m for m in found["modules"] if m.startswith("conveyor.cli")} <= ROOT_MODULES | allowed
    assert imported(found["modules"], HEAVY) == []
    assert "Commands:" in found["output"]
    assert found["output"] == found["loaded"]  # each command's own short help


def test_a_mistyped_command_is_matched_against_the_commands_not_loaded(tmp_path: Path) -> None:
    found = run_fresh(tmp_path, "runz")
    assert found["code"] == 2
    assert "No such command 'runz'. (Did you mean one of: 'run', 'runs'?)" in found["output"]


def test_version_imports_neither_the_store_nor_the_engine(tmp_path: Path) -> None:
    found = run_fresh(tmp_path, "version")
    assert (found["code"], found["output"].split()[0]) == (0, "conveyor")
    assert {m for m in found["modules"] if m.startswith("conveyor.cli")} == ROOT_MODULES
    unwanted = (*HEAVY, "sqlalchemy", "psycopg", "conveyor.store", "conveyor.web")
    assert imported(found["modules"], unwanted) == []


@pytest.mark.parametrize(
    ("args", "code"), [(["runs", "list"], 0), (["dags", "list"], 0), (["tasks", "list", "d"], 1)]
)
def test_a_read_command_imports_no_executor_scheduler_or_hop(
    tmp_path: Path, args: list[str], code: int
) -> None:
    found = run_fresh(tmp_path, *args)
    assert found["code"] == code, found["output"]  # no DAG d: its one-line error
    # Opening a store checks its schema with Alembic; listing DAGs or a DAG's tasks reads
    # the DAG folder (Airflow's `tasks list DAG` parses it).
    reads_dags = args[1] == "list" and args[0] in ("dags", "tasks")
    allowed = ("alembic", "conveyor.loading.processor") if reads_dags else ("alembic",)
    assert imported(found["modules"], tuple(m for m in HEAVY if m not in allowed)) == []
    # The home is SQLite: PostgreSQL's driver is not loaded.
    assert imported(found["modules"], ("psycopg",)) == []


def test_the_why_of_a_task_loads_no_postgresql_driver() -> None:
    """`tasks why` on SQLite reads the scheduler's rules (scheduler.explain): they reach the
    run lock, whose pipelined form is PostgreSQL's alone."""
    code = (
        "import sys, conveyor.scheduler.explain, conveyor.engine.mapping;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'psycopg'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"
