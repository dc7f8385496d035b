"""``conveyor dags``: list, show, trigger, pause and check DAGs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape

from conveyor.cli.common import (
    CliError,
    console,
    err_console,
    open_store,
    parse_conf,
    parse_moment,
    settings,
    styled,
    sync_dags,
    when,
)
from conveyor.cli.lazy import Lazy, LazyGroup
from conveyor.cli.output import Cell, output_option, write_data, write_rows
from conveyor.config import Settings
from conveyor.store import runs
from conveyor.store.reads import dags as dag_reads
from conveyor.web import queries

if TYPE_CHECKING:
    from conveyor.serialized import SerializedTask

# The reads (list, show, errors) import only what they print: writing commands import the
# store's writers in their own bodies, so a script calling `dags list` in a loop does not
# load them (tests/unit/test_cli_read_imports.py).


@click.group(
    cls=LazyGroup,
    lazy={
        "list-runs": Lazy(
            "conveyor.cli.runs:dags_list_runs",
            "A DAG's runs, newest first: `conveyor runs list --dag` in Airflow's spelling.",
        ),
        "test": Lazy(
            "conveyor.cli.test_runs:dags_test",
            "Run the whole DAG once here, on a throwaway store (Airflow: dags test).",
        ),
        "state": Lazy(
            "conveyor.cli.dags_airflow:dags_state",
            "A run's state, with its conf when it has one (Airflow: dags state).",
        ),
        "next-execution": Lazy(
            "conveyor.cli.next_execution:dags_next_execution",
            "The logical date of the DAG's next scheduled run(s) (Airflow: dags next-execution); "
            "a partitioned DAG's: the partition key.",
        ),
        "delete": Lazy(
            "conveyor.cli.dags_airflow:dags_delete",
            "Delete every run of the DAG, with its task instances, tries, XComs and logs "
            "(Airflow: dags delete).",
        ),
        "details": Lazy(
            "conveyor.cli.dags_airflow:dags_details",
            "A DAG's properties, one a line (Airflow: dags details); -o json as the API's "
            "GET /dags/{dag}.",
        ),
        "report": Lazy(
            "conveyor.cli.dags_airflow:dags_report",
            "Each DAG file as last parsed: parse time, DAGs, tasks (Airflow: dags report).",
        ),
        "list-import-errors": Lazy(
            "conveyor.cli.dags_airflow:dags_list_import_errors",
            "DAG files that fail to load, as Airflow lists them (filepath, error); exit 1 if "
            "there are any.",
        ),
        "backfill": Lazy(
            "conveyor.cli.dags_airflow:dags_backfill",
            "Airflow 2's `dags backfill DAG -s START -e END`: runs `conveyor backfill`.",
        ),
    },
)
def dags() -> None:
    """Work with DAGs."""


@dags.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include DAGs whose files are gone.")
@output_option
def list_dags(show_all: bool, output: str) -> None:
    """Every DAG with its schedule, state and last run."""
    config = settings()
    store = open_store(config)
    sync_dags(store, config)
    with store.read() as conn:
        listing = queries.list_dags(conn, include_inactive=show_all)
        errors = dag_reads.count_import_errors(conn)
    if not write_data(output, listing):
        columns = ["dag", "schedule", "paused", "next run", "last run", "file"]
        rows: list[list[Cell]] = []
        for item in listing.dags:
            latest = item.recent_runs[0] if item.recent_runs else None
            last = f"{latest.state} {when(latest.logical_date)}" if latest else None
            row: list[Cell] = [
                item.dag_id,
                item.schedule,
                item.is_paused,
                item.next_run_after,
                last,
                item.fileloc,
            ]
            rows.append([*row, item.is_active] if show_all else row)
        write_rows(
            output,
            [*columns, "active"] if show_all else columns,
            rows,
            styles={"last run": _styled_last_run},
            empty=escape(_no_dags(config, store.describe())),
        )
    if errors and output == "table":
        console.print(f"[red]{errors} DAG file(s) fail to load:[/] see `conveyor dags errors`")
    elif errors:  # scripts read stdout: the warning goes to stderr
        err_console.print(f"{errors} DAG file(s) fail to load: see `conveyor dags errors`")


def _no_dags(config: Settings, store: str) -> str:
    """Where ``dags list`` looked: a terminal without the ``CONVEYOR_HOME`` of a running
    Conveyor reads another home, whose folder and store this names."""
    return (
        f"no DAGs found in the DAG folder {config.dags_path} (home {config.home}, store "
        f"{store}); a Conveyor started with another CONVEYOR_HOME keeps its DAGs there: "
        "set CONVEYOR_HOME to that folder"
    )


def _styled_last_run(text: str) -> str:
    state, _, rest = text.partition(" ")
    return f"{styled(state)} {rest}"


@dags.command()
@click.argument("dag_id")
@output_option
def show(dag_id: str, output: str) -> None:
    """A DAG's tasks, dependencies and settings."""
    store = open_store()
    sync_dags(store)
    with store.read() as conn:
        detail = queries.get_dag(conn, dag_id)
        _, structure = runs.latest_version(conn, dag_id)
    if write_data(output, detail):
        return
    if output == "plain":
        write_rows(
            output,
            ["task", "operator", "upstream", "retries", "trigger rule", "queue"],
            [
                [t.task_id, t.operator, ",".join(t.upstream), t.retries, t.trigger_rule, t.queue]
                for t in detail.tasks
            ],
        )
        return
    raw = structure.raw
    shown = f" ({escape(structure.display_name)})" if structure.display_name != dag_id else ""
    console.print(f"[bold]{escape(dag_id)}[/]{shown}  {escape(raw.get('description') or '')}")
    console.print(
        f"schedule: {raw['schedule_description']} ({raw['timezone']}), "
        f"catchup: {raw['catchup']}, max_active_runs: {raw['max_active_runs']}, "
        f"max_active_tasks: {raw['max_active_tasks']}",
        markup=False,
    )
    if raw.get("schedule_details"):  # a timetable's own description
        console.print(f"  {raw['schedule_details']}", markup=False)
    if raw.get("params"):
        console.print(f"params: {raw['params']}", markup=False)
    from rich.tree import Tree

    tree = Tree("tasks")
    for task in structure.tasks.values():
        tree.add(_task_line(task))
    console.print(tree)


def _task_line(task: SerializedTask) -> str:
    """One task of `conveyor dags show`: its id, operator, upstream and settings."""
    line = f"[bold]{escape(task.task_id)}[/] ({task.operator_name})"
    if task.display_name != task.task_id:
        line += f" {escape(repr(task.display_name))}"
    if task.upstream:
        line += f" after {escape(', '.join(task.upstream))}"
    extras = []
    if task.retries:
        extras.append(f"retries={task.retries}")
    if task.trigger_rule != "all_success":
        extras.append(f"trigger_rule={task.trigger_rule}")
    if task.queue != "default":
        extras.append(f"queue={task.queue}")
    if task.execution_timeout:
        extras.append(f"timeout={task.execution_timeout}")
    for name in ("max_active_tis_per_dag", "max_active_tis_per_dagrun"):
        if getattr(task, name) is not None:
            extras.append(f"{name}={getattr(task, name)}")
    if task.wait_for_downstream:
        extras.append("wait_for_downstream")
    return line + (f"  [dim]{escape(' '.join(extras))}[/]" if extras else "")


@dags.command()
@click.argument("dag_id")
@click.option("-c", "--conf", help="JSON object for the run's conf (overrides params).")
@click.option(
    "-l",
    "--logical-date",
    callback=lambda _ctx, _param, value: parse_moment(value, "--logical-date"),
    help="YYYY-MM-DD or ISO 8601, UTC unless it has an offset. Default: now.",
)
@click.option(
    "-r",
    "--run-id",
    help="Default: manual__<logical date>. No control, separator or invisible formatting "
    "characters, no '/', not '.' or '..'.",
)
@output_option
def trigger(
    dag_id: str, conf: str | None, logical_date: datetime | None, run_id: str | None, output: str
) -> None:
    """Create a manual run; the scheduler picks it up.

    With -o json or yaml: the run as the API's GET /dags/{dag}/runs/{run} returns it.
    """
    from conveyor.store.trigger import trigger_run

    payload = parse_conf(conf)
    store = open_store()
    sync_dags(store)
    with store.write() as conn:
        row = trigger_run(
            conn,
            dag_id,
            created_by="cli",
            conf=payload,
            logical_date=logical_date,
            run_id=run_id,
            max_conf_bytes=settings().max_conf_bytes,
        )
    if output != "table":
        with store.read() as conn:
            detail = queries.get_run(conn, dag_id, row.run_id)
        if not write_data(output, detail):
            write_rows(
                output,
                ["dag", "run id", "state", "logical date", "conf"],
                [[dag_id, row.run_id, detail.state, detail.logical_date, json.dumps(payload)]],
            )
        return
    console.print(
        f"triggered {dag_id} run [bold]{row.run_id}[/] (queued; a running scheduler starts it)"
    )
    if row.dag_paused:
        console.print(
            f"[yellow]{dag_id} is paused:[/] the run waits until `conveyor dags unpause {dag_id}`"
        )


def _selection_options(command: Callable[..., None]) -> Callable[..., None]:
    """The arguments and options that choose the DAGs of ``dags pause`` and ``unpause``."""
    for decorate in reversed(
        (
            click.argument("dag_ids", nargs=-1),
            click.option(
                "--pattern",
                "patterns",
                multiple=True,
                metavar="REGEX",
                help="DAGs whose id matches this regular expression (searched anywhere in "
                "the id; repeat for several).",
            ),
            click.option(
                "--treat-dag-id-as-regex",
                "ids_as_regex",
                is_flag=True,
                help="Airflow's spelling: the DAG_IDS given are regular expressions.",
            ),
            click.option(
                "--tag", "tags", multiple=True, help="DAGs with this tag (repeat: any of them)."
            ),
            click.option(
                "-y", "--yes", is_flag=True, help="Do not ask before changing several DAGs."
            ),
        )
    ):
        command = decorate(command)
    return command


def _set_paused(
    dag_ids: tuple[str, ...],
    patterns: tuple[str, ...],
    ids_as_regex: bool,
    tags: tuple[str, ...],
    yes: bool,
    *,
    paused: bool,
) -> None:
    """Choose the DAGs, ask when there are several, change them in one transaction with an
    audit entry each, and say what changed."""
    from conveyor.cli.audit_trail import cli_actor
    from conveyor.store import audit, dag_actions
    from conveyor.web.dag_selection import DagSelection, SelectionError, regexes, select

    verb = "pause" if paused else "unpause"
    try:
        selection = DagSelection(
            ids=() if ids_as_regex else dag_ids,
            patterns=regexes([*patterns, *(dag_ids if ids_as_regex else ())], "pattern"),
            tags=tags,
        )
    except SelectionError as exc:
        raise CliError(str(exc)) from None
    if selection.is_empty():
        raise CliError(f"name the DAGs to {verb}: DAG_IDS, --pattern REGEX or --tag TAG")
    store = open_store()
    sync_dags(store)
    with store.read() as conn:
        rows = dag_reads.list_dag_rows(conn, include_inactive=bool(selection.ids))
    try:
        chosen = select(rows, selection)
    except SelectionError as exc:
        raise CliError(str(exc)) from None
    if not chosen:
        console.print(f"no DAG matches: nothing to {verb}")
        return
    if len(chosen) > 1 and not yes:
        console.print(f"You are about to {verb} {len(chosen)} DAGs:", markup=False)
        for row in chosen:
            console.print(f"  {row.dag_id}", markup=False)
        click.confirm("Are you sure?", abort=True, err=True)
    with store.write() as conn:
        changed = dag_actions.set_paused_many(conn, [r.dag_id for r in chosen], paused)
        for dag_id in changed:
            audit.record(conn, cli_actor(), f"dag.{verb}", dag_id, None, dag_id=dag_id, via="cli")
    done = "paused" if paused else "unpaused"
    for row in chosen:
        if row.dag_id in changed:
            console.print(f"{row.dag_id} is {done}", markup=False)
        else:
            console.print(f"{row.dag_id} was already {done}", markup=False)


@dags.command()
@_selection_options
def pause(
    dag_ids: tuple[str, ...],
    patterns: tuple[str, ...],
    ids_as_regex: bool,
    tags: tuple[str, ...],
    yes: bool,
) -> None:
    """Stop creating and scheduling runs of DAGs: the DAG_IDS given, or those --pattern or
    --tag choose."""
    _set_paused(dag_ids, patterns, ids_as_regex, tags, yes, paused=True)


@dags.command()
@_selection_options
def unpause(
    dag_ids: tuple[str, ...],
    patterns: tuple[str, ...],
    ids_as_regex: bool,
    tags: tuple[str, ...],
    yes: bool,
) -> None:
    """Let paused DAGs run: the DAG_IDS given, or those --pattern or --tag choose."""
    _set_paused(dag_ids, patterns, ids_as_regex, tags, yes, paused=False)


@dags.command()
def reserialize() -> None:
    """Parse every file of the DAG folder now, changed or not (Airflow's name); a running
    scheduler schedules from what it stored at once."""
    from conveyor.loading.builder import processor_for

    config = settings()
    store = open_store(config)
    if not config.dags_path.is_dir():
        raise CliError(f"no DAG folder at {config.dags_path}")
    processor_for(config, store, one_off=True).sync(every_file=True)
    with store.read() as conn:
        count = len(dag_reads.active_dag_ids(conn))
        errors = dag_reads.count_import_errors(conn)
    console.print(f"parsed {config.dags_path}: {count} DAG(s), {errors} file(s) fail to load")
    if errors:
        console.print("see `conveyor dags errors`")


@dags.command()
@output_option
def errors(output: str) -> None:
    """DAG files that fail to load, with file, line and message. Exit 1 if there are any."""
    store = open_store()
    sync_dags(store)
    with store.read() as conn:
        found = queries.list_import_errors(conn)
    if write_data(output, found):
        pass
    elif output == "plain":
        write_rows(
            output,
            ["file", "line", "message"],
            [[e.file, e.line, e.message] for e in found.import_errors],
        )
    elif not found.import_errors:
        console.print("no import errors")
    for e in found.import_errors if output == "table" else ():
        where = f"{e.file}:{e.line}" if e.line else e.file
        console.print(f"[bold red]{escape(where)}[/]: ", end="")
        console.print(e.message, markup=False)
        if e.traceback:
            console.print(e.traceback.rstrip(), style="dim", markup=False)
    if found.import_errors:
        raise SystemExit(1)


@dags.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
def validate(paths: tuple[str, ...]) -> None:
    """Check DAG files (.py, .yaml, .yml) or folders without running anything.

    Prints every problem as file:line:column: what was expected and what was found.
    Exit 1 if there is any. Keywords Conveyor accepts and ignores are warnings: each is
    printed with what it does on Airflow, and does not change the exit status.
    """
    from conveyor.loading.yaml.validate import validate_paths, warnings_of

    config = settings()
    problems = validate_paths(list(paths), config.dags_path, config.plugins_path)
    for warning in warnings_of(list(paths), config.executor):
        console.print(f"[yellow]{warning.where}[/]: warning: ", end="")
        console.print(warning.detail, markup=False)
    for problem in problems:
        console.print(f"[bold red]{problem.where}[/]: ", end="")
        console.print(problem.detail, markup=False)
    if problems:
        raise SystemExit(1)
    console.print(f"ok: {', '.join(paths)}")


@dags.command()
@click.argument("dag_id")
@click.option(
    "--format", "fmt", type=click.Choice(["yaml", "python"]), default="yaml", show_default=True
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def export(dag_id: str, fmt: str, output: Path | None) -> None:
    """Write a DAG in the other form: a Python DAG as YAML, or a YAML DAG as Python."""
    from conveyor.loading.processor import loader_for
    from conveyor.loading.yaml.export import export_dag

    store = open_store()
    sync_dags(store)
    with store.read() as conn:
        fileloc = dag_reads.active_fileloc(conn, dag_id)
    if fileloc is None:
        raise CliError(f"no DAG {dag_id!r}: see `conveyor dags list`")
    found = {d.dag_id: d for d in loader_for(fileloc)(fileloc)}
    if dag_id not in found:
        raise CliError(f"{fileloc} no longer defines DAG {dag_id!r}")
    text = export_dag(found[dag_id], fmt)  # type: ignore[arg-type]
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
        console.print(f"wrote {dag_id} as {fmt} to {output}")


@dags.command()
def schema() -> None:
    """Print the JSON Schema of YAML DAG files (point an editor's YAML support at it)."""
    from conveyor.loading.yaml.schema import schema_text

    click.echo(schema_text(), nl=False)
