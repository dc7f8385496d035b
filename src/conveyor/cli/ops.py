"""``conveyor health``: the checks of ``conveyor.health`` for people and container probes."""

from __future__ import annotations

import click
from rich.markup import escape

from conveyor.cli.common import console, settings
from conveyor.cli.output import output_option, write_data, write_rows
from conveyor.health import CHECKS, HealthReport, check


@click.command("health")
@click.option(
    "--only",
    "only",
    multiple=True,
    type=click.Choice(CHECKS),
    help="Run only this check (repeatable); e.g. a worker's probe skips the schedulers.",
)
@click.option("--json", "as_json", is_flag=True, help="The same as -o json.")
@output_option
def health_command(only: tuple[str, ...], as_json: bool, output: str) -> None:
    """Check the store, its schema, the broker and the schedulers; exit 1 if one fails.

    With -o json or yaml: the body of the web's /health.
    """
    report = check(settings(), only=only or None)
    if write_data("json" if as_json else output, report.as_dict()):
        pass
    elif output == "plain":
        write_rows(
            output, ["check", "ok", "detail"], [[c.name, c.ok, c.detail] for c in report.checks]
        )
    else:
        for item in report.checks:
            mark = "[green]ok[/]  " if item.ok else "[red]FAIL[/]"
            console.print(f"{mark} {item.name:<10} {escape(item.detail)}", soft_wrap=True)
        _print_scheduler_problems(report)
    if not report.healthy:
        raise SystemExit(1)


def _print_scheduler_problems(report: HealthReport) -> None:
    """Failing units of the scheduler's loop: shown, but they do not fail the check."""
    for problem in report.scheduler_problems:
        where = " ".join(
            part
            for part in (
                f"DAG {problem.dag_id}" if problem.dag_id else "",
                f"run {problem.run_id}" if problem.run_id else "",
            )
            if part
        )
        console.print(
            f"[yellow]warn[/] {problem.action:<10} {escape(where or 'the scheduler')}: "
            f"{escape(problem.error)} ({problem.occurrences}x, last {problem.last_seen})",
            soft_wrap=True,
        )
