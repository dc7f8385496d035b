"""``conveyor jobs check``: Airflow's liveness check of its scheduler and triggerer jobs, as
Kubernetes probes call it (``airflow jobs check --job-type SchedulerJob --local``), read from
the heartbeats the store keeps of Conveyor's schedulers and triggerers."""

from __future__ import annotations

import socket

import click

from conveyor.cli.common import CliError, open_store, settings
from conveyor.clock import utcnow
from conveyor.store.liveness import ProcessBeat, live_schedulers, live_triggerers, stale_after

#: Airflow's job types (both spellings) -> the process of Conveyor's that does that job. A
#: scheduler parses the DAG folder itself: it is the DAG processor too.
JOB_TYPES = {
    "SchedulerJob": "scheduler",
    "SchedulerJobRunner": "scheduler",
    "DagProcessorJob": "scheduler",
    "DagProcessorJobRunner": "scheduler",
    "TriggererJob": "triggerer",
    "TriggererJobRunner": "triggerer",
}


@click.group("jobs")
def jobs_group() -> None:
    """Airflow's `jobs check`: whether a scheduler or triggerer is alive (a liveness probe)."""


@jobs_group.command("check")
@click.option("--job-type", type=click.Choice(sorted(JOB_TYPES)), help="Only jobs of this type.")
@click.option("--hostname", help="Only jobs on this host.")
@click.option("--local", is_flag=True, help="Only jobs on this machine's host.")
@click.option("--limit", type=int, default=1, show_default=True, help="How many jobs to look at.")
@click.option("--allow-multiple", is_flag=True, help="Pass when more than one job is alive.")
def check_command(
    job_type: str | None, hostname: str | None, local: bool, limit: int, allow_multiple: bool
) -> None:
    """Exit 0 if a job is alive (by its heartbeat), 1 if none is, as Airflow's does."""
    if allow_multiple and limit <= 1:
        raise CliError("--allow-multiple needs a --limit greater than 1")
    if hostname and local:
        raise CliError("give --hostname or --local, not both")
    config = settings()
    now, threshold = utcnow(), stale_after(config.heartbeat_seconds)
    kinds = {JOB_TYPES[job_type]} if job_type else {"scheduler", "triggerer"}
    alive: list[ProcessBeat] = []
    with open_store(config).read() as conn:
        if "scheduler" in kinds:
            alive += live_schedulers(conn, now, threshold)
        if "triggerer" in kinds:
            alive += live_triggerers(conn, now, threshold)
    host = socket.gethostname() if local else hostname
    found = sorted(
        (beat for beat in alive if host is None or beat.hostname == host),
        key=lambda beat: beat.heartbeat_at,
        reverse=True,
    )
    if limit > 0:
        found = found[:limit]
    if not found:
        raise CliError("No alive jobs found.")
    if len(found) > 1 and not allow_multiple:
        raise CliError(f"Found {len(found)} alive jobs. Expected only one.")
    click.echo("Found one alive job." if len(found) == 1 else f"Found {len(found)} alive jobs.")
