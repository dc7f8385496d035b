"""``conveyor tasks``: a task instance's logs and the story of why it is where it is."""

from __future__ import annotations

import json

import click
from rich.markup import escape

from conveyor.cli.common import (
    CliError,
    console,
    open_store,
    seconds,
    settings,
    styled,
    sync_dags,
)
from conveyor.cli.lazy import Lazy, LazyGroup
from conveyor.cli.output import output_option, write_data, write_rows
from conveyor.cli.runs import resolve_run, run_by_id_or_date
from conveyor.lifecycle import FAILED_TRY
from conveyor.states import ExitKind
from conveyor.store import runs, timeline
from conveyor.store.engine import Connection
from conveyor.store.reads import tasks as task_reads
from conveyor.web import queries


@click.group(
    cls=LazyGroup,
    lazy={
        "clear": Lazy(
            "conveyor.cli.manual:tasks_clear",
            "Clear task instances of a run so they run again (Airflow: tasks clear).",
        ),
        "mark": Lazy(
            "conveyor.cli.manual:tasks_mark",
            "Mark a task instance success or failed (all instances of a mapped task).",
        ),
        "test": Lazy(
            "conveyor.cli.test_runs:tasks_test",
            "Run one task once here, alone, on a throwaway store (Airflow: tasks test).",
        ),
    },
)
def tasks() -> None:
    """Inspect task instances."""


def _required_run(conn: Connection, dag_id: str, logical_date_or_run_id: str) -> runs.RunRow:
    """Airflow's LOGICAL_DATE_OR_RUN_ID read as ``run_by_id_or_date``; a CLI error without one."""
    run = run_by_id_or_date(conn, dag_id, logical_date_or_run_id)
    if run is None:
        raise CliError(
            f"DAG {dag_id!r} has no run {logical_date_or_run_id!r} (by id or logical date)"
        )
    return run


@tasks.command()
@click.argument("dag_id")
@click.argument("run_id")
@click.argument("task_id")
@click.option("--try", "try_number", type=int, help="Default: the latest try.")
@click.option("--tail", type=int, help="Only the last N lines.")
@click.option("--map-index", type=int, help="Which instance of a mapped task.")
def logs(
    dag_id: str,
    run_id: str,
    task_id: str,
    try_number: int | None,
    tail: int | None,
    map_index: int | None,
) -> None:
    """Print the log of a try. RUN_ID may be 'latest'."""
    store = open_store()
    with store.read() as conn:
        run = resolve_run(conn, dag_id, run_id)
        if map_index is None:
            _refuse_ambiguous_instance(conn, run.id, dag_id, task_id)
        row = task_reads.latest_try(
            conn, run.id, task_id, try_number=try_number, map_index=map_index
        )
    if row is None:
        raise CliError(
            f"{dag_id}.{task_id} in run {run.run_id} has not run yet"
            + (f" (no try {try_number})" if try_number else "")
        )
    from conveyor.logs import read_try_log

    data = read_try_log(settings(), row.log_path)  # the local file, else the remote copy
    if data is None:
        raise CliError(
            f"the log of try {row.try_number} is not on this machine: {row.log_path or '-'}"
        )
    lines = data.decode(errors="replace").splitlines()
    if tail:
        lines = lines[-tail:]
    click.echo("\n".join(lines))
    if row.error and row.exit_kind != ExitKind.EXCEPTION:
        # Timeouts, crashes and lost heartbeats are recorded by the supervisor, not the log.
        click.echo(f"\n[conveyor] try {row.try_number} ended ({row.exit_kind}): {row.error}")


def _refuse_ambiguous_instance(conn: Connection, run_pk: int, dag_id: str, task_id: str) -> None:
    count = task_reads.count_mapped(conn, run_pk, task_id)
    if count > 1:
        raise CliError(
            f"{dag_id}.{task_id} is a mapped task with {count} instances: "
            f"pass --map-index 0..{count - 1}"
        )


def instance_label(map_index: int, rendered: str | None) -> str | None:
    """A mapped instance's index, with its ``map_index_template`` as rendered when it has
    one (the name Airflow's UI shows); None for an unmapped task."""
    if map_index < 0:
        return None
    return f"{map_index} ({rendered})" if rendered else str(map_index)


@tasks.command("list")
@click.argument("dag_id")
@click.argument("run_id", required=False)
@click.option("-t", "--tree", is_flag=True, help="No RUN_ID: the tasks as a tree, roots first.")
@output_option
def list_command(dag_id: str, run_id: str | None, tree: bool, output: str) -> None:
    """A DAG's tasks (Airflow: tasks list), or with RUN_ID a run's task instances in the
    DAG's order. RUN_ID may be 'latest'."""
    if run_id is None:
        _list_tasks(dag_id, tree, output)
        return
    if tree:
        raise click.UsageError("--tree lists the DAG's tasks: leave out RUN_ID")
    store = open_store()
    with store.read() as conn:
        run = resolve_run(conn, dag_id, run_id)
        found = queries.list_task_instances(conn, dag_id, run.run_id)
    if write_data(output, found):
        return
    write_rows(
        output,
        ["task", "map index", "state", "try", "host", "started", "ended", "next try"],
        [
            [
                t.task_id,
                instance_label(t.map_index, t.rendered_map_index),
                t.state,
                f"{t.try_number}/{t.max_tries}",
                t.hostname,
                t.start_date,
                t.end_date,
                t.retry_at,
            ]
            for t in found.task_instances
        ],
        styles={"state": styled},
        empty=f"run {run.run_id} has no task instances yet",
    )


@tasks.command("states-for-dag-run")
@click.argument("dag_id")
@click.argument("logical_date_or_run_id")
@output_option
def states_for_dag_run_command(dag_id: str, logical_date_or_run_id: str, output: str) -> None:
    """A run's task instances with their states, start and end (Airflow: tasks
    states-for-dag-run); -o json gives the run's instances as the REST API does.

    LOGICAL_DATE_OR_RUN_ID is a run id or a run's logical date (YYYY-MM-DD or ISO, UTC).
    """
    store = open_store()
    with store.read() as conn:
        run = _required_run(conn, dag_id, logical_date_or_run_id)
        found = queries.list_task_instances(conn, dag_id, run.run_id)
    if write_data(output, found):
        return
    write_rows(
        output,
        ["dag_id", "logical_date", "task_id", "state", "start_date", "end_date"],
        [
            [dag_id, run.logical_date, t.task_id, t.state, t.start_date, t.end_date]
            for t in found.task_instances
        ],
        styles={"state": styled},
        empty=f"run {run.run_id} has no task instances yet",
    )


def _list_tasks(dag_id: str, tree: bool, output: str) -> None:
    """The DAG's task ids, sorted, one a line (as Airflow prints them); --tree: each task
    under the tasks upstream of it."""
    store = open_store()
    sync_dags(store)  # a DAG file the store has not seen yet is parsed, as Airflow does
    with store.read() as conn:
        detail = queries.get_dag(conn, dag_id)
    if write_data(output, {"tasks": detail.tasks}):
        return
    if not tree:
        ids = sorted(t.task_id for t in detail.tasks)
        if output == "plain":
            write_rows(output, ["task"], [[t] for t in ids])
        else:
            click.echo("\n".join(ids))
        return
    downstream: dict[str, list[str]] = {t.task_id: [] for t in detail.tasks}
    for t in detail.tasks:
        for up in t.upstream:
            downstream.setdefault(up, []).append(t.task_id)
    roots = [t.task_id for t in detail.tasks if not t.upstream]
    for root in roots:
        _print_tree(root, downstream, 0)


def _print_tree(task_id: str, downstream: dict[str, list[str]], depth: int) -> None:
    click.echo("    " * depth + task_id)
    for child in downstream.get(task_id, []):
        _print_tree(child, downstream, depth + 1)


@tasks.command("state")
@click.argument("dag_id")
@click.argument("task_id")
@click.argument("logical_date_or_run_id")
@click.option("--map-index", type=int, help="Which instance of a mapped task.")
def state_command(
    dag_id: str, task_id: str, logical_date_or_run_id: str, map_index: int | None
) -> None:
    """A task instance's state (Airflow: tasks state); None when it has none yet.

    LOGICAL_DATE_OR_RUN_ID is a run id or a run's logical date (YYYY-MM-DD or ISO, UTC).
    """
    store = open_store()
    with store.read() as conn:
        run = _required_run(conn, dag_id, logical_date_or_run_id)
        found = [ti for ti in runs.task_instances(conn, run.id) if ti.task_id == task_id]
    if not found:
        raise CliError(f"run {run.run_id} of {dag_id} has no task {task_id!r}")
    mapped = [ti for ti in found if ti.map_index >= 0]
    if mapped and map_index is None:
        raise CliError(
            f"{dag_id}.{task_id} is a mapped task with {len(mapped)} instances: "
            f"pass --map-index 0..{len(mapped) - 1}"
        )
    wanted = map_index if map_index is not None else -1
    chosen = [ti for ti in found if ti.map_index == wanted]
    if not chosen:
        raise CliError(f"{dag_id}.{task_id} has no instance --map-index {wanted}")
    value = chosen[0].state.value
    click.echo("None" if value == "none" else value)


@tasks.command()
@click.argument("dag_id")
@click.argument("run_id")
@click.argument("task_id")
@click.option("--map-index", type=int, help="Which instance of a mapped task (default: 0).")
@output_option
def why(dag_id: str, run_id: str, task_id: str, map_index: int | None, output: str) -> None:
    """Every try of a task instance, and what it waits for. RUN_ID may be 'latest'.

    With -o json or yaml: the task instance as the API's GET .../tasks/{task} returns it.
    """
    store = open_store()
    with store.read() as conn:
        run = resolve_run(conn, dag_id, run_id)
        if output in ("json", "yaml"):
            if map_index is not None:
                raise CliError(
                    "--map-index is for the table form: with -o json or yaml a mapped task's "
                    "instances are listed under 'instances'"
                )
            write_data(output, queries.get_task_instance(conn, dag_id, run.run_id, task_id))
            return
        from conveyor.scheduler.explain import explain  # the why: the scheduler's own rules

        story = explain(conn, run, task_id, map_index)
    if output == "plain":
        write_rows(
            output,
            ["try", "at", "kind", "actor", "message"],
            [
                [t.try_number, ev["at"], ev["kind"], ev["actor"], ev["message"]]
                for t in story.tries
                for ev in t.events
            ],
        )
        return
    label = instance_label(story.map_index, story.rendered_map_index)
    instance = escape(f"[{label}]") if label is not None else ""
    console.print(
        f"[bold]{escape(dag_id)}.{escape(task_id)}{instance}[/] in run {escape(story.run_id)}: "
        f"{styled(story.state.value)}, "
        f"try {story.try_number} of {story.max_tries} (run is {story.run_state.value})"
    )
    for t in story.tries:
        if t.try_number == 0:
            heading = "before any try"
        else:
            where = f" on {t.hostname} pid {t.pid}" if t.hostname else ""
            ended = f", {t.exit_kind}" if t.exit_kind else ""
            heading = (
                f"try {t.try_number}{where}: {styled(t.state or 'not started')}"
                f" ({seconds(t.duration)}{ended})"
            )
        console.print(f"\n[bold]{heading}[/]")
        for ev in t.events:
            console.print(
                f"  {ev['at']:%H:%M:%S.%f}"[:-3] + f"  {ev['kind']:<15} {ev['actor']:<28} ", end=""
            )
            console.print(ev["message"], markup=False)
        if t.error and t.state in FAILED_TRY:
            console.print("  [red]error:[/]")
            console.print(
                "\n".join("    " + line for line in t.error.splitlines()[-15:]), markup=False
            )
        for text in t.callback_errors:  # never only in the try's log
            console.print("  [red]callback error:[/] ", end="")
            console.print(text, markup=False)
    if story.waiting_for:
        console.print("\n[bold]waiting for:[/]")
        for reason in story.waiting_for:
            console.print(f"  - {reason}", markup=False)


@tasks.command()
@click.argument("dag_id")
@click.argument("task_id")
@click.argument("logical_date_or_run_id")
@click.option("--map-index", type=int, help="Which instance of a mapped task.")
@click.option("--try", "try_number", type=int, help="Default: the latest try.")
@output_option
def render(
    dag_id: str,
    task_id: str,
    logical_date_or_run_id: str,
    map_index: int | None,
    try_number: int | None,
    output: str,
) -> None:
    """A try's template fields as it rendered them (Airflow: tasks render), secrets masked,
    as its worker kept them. A mapped instance is named by its index and, when its task has
    a ``map_index_template``, by the name that rendered to.

    LOGICAL_DATE_OR_RUN_ID is a run id or a run's logical date (YYYY-MM-DD or ISO, UTC).
    """
    store = open_store()
    with store.read() as conn:
        run = _required_run(conn, dag_id, logical_date_or_run_id)
        if map_index is None:
            _refuse_ambiguous_instance(conn, run.id, dag_id, task_id)
        ti = timeline.find_instance(conn, run.id, task_id, map_index)
        if ti is None:
            instance = f" instance {map_index}" if map_index is not None else ""
            raise CliError(f"run {run.run_id} of {dag_id} has no task {task_id!r}{instance}")
        chosen = try_number if try_number is not None else ti.try_number
        if chosen < 1:
            raise CliError(f"{dag_id}.{task_id} in run {run.run_id} has not run yet")
        at = queries.TryAddress(dag_id, run.run_id, task_id, chosen, map_index)
        found = queries.rendered_fields(conn, at)
    if write_data(output, {**found.model_dump(), "rendered_map_index": ti.rendered_map_index}):
        return
    label = instance_label(ti.map_index, ti.rendered_map_index)
    instance = f"[{label}]" if label is not None else ""
    click.echo(f"# {dag_id}.{task_id}{instance} in run {run.run_id}, try {chosen}")
    if not found.stored:
        click.echo("# the try kept no rendered fields (it ended before rendering them)")
    rule = "# " + "-" * 58
    for name, value in found.fields.items():
        shown = value if isinstance(value, str) else json.dumps(value, indent=2, default=str)
        click.echo(f"{rule}\n# property: {name}\n{rule}\n{shown}")


@tasks.command("run-try", hidden=True)
@click.argument("ti_id", type=int)
@click.argument("try_number", type=int)
@click.option("--log-name", help="The try's log file below the log folder, copied to stdout.")
def run_try_command(ti_id: int, try_number: int, log_name: str | None) -> None:
    """Run one queued try here (what a Kubernetes executor's pod runs)."""
    from conveyor.worker.pod_try import run_try

    run_try(settings(), ti_id, try_number, log_name)
