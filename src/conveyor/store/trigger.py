"""Triggering a run by hand: the one way the API (and the UI's trigger form, which posts to
it), ``conveyor dags trigger`` and ``conveyor run`` make a manual run.

Every one of them applies the same checks in the same order, so a run id or a conf that one
refuses, all refuse with the same message: the run id rule (:mod:`conveyor.run_ids`), then
strict JSON and the size cap (:mod:`conveyor.strict_json`, ``max_conf_bytes``), then the
DAG's existence, then the conf against the DAG's params
(:func:`conveyor.model.params.conf_errors`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from conveyor.clock import utcnow
from conveyor.exceptions import ConveyorError
from conveyor.model.params import ConfRefused, conf_errors
from conveyor.model.schedules import Schedule
from conveyor.run_ids import check_run_id
from conveyor.store import runs
from conveyor.store.runs import RunRow
from conveyor.store.tables import dag_run
from conveyor.strict_json import DEFAULT_MAX_CONF_BYTES, NotStrictJson, check_conf

__all__ = ["ConfRefused", "LogicalDateRefused", "PartitionKeyRefused", "RunExists", "trigger_run"]


class LogicalDateRefused(ConveyorError):
    """The DAG's schedule cannot place a run at the logical date asked for."""


class PartitionKeyRefused(LogicalDateRefused):
    """A partition key the DAG does not take: it is not partitioned, or its schedule cannot
    read the key (a LogicalDateRefused, so every caller that answers a bad date with the
    person's error answers this one too)."""


def check_partition_key(dag_id: str, schedule: Schedule, partition_key: str | None) -> None:
    """Airflow 3.3's rule: a key only for a partitioned DAG (or one partitioned at runtime),
    not blank, and one its schedule can read a date from when its keys tell one."""
    if partition_key is None:
        return
    if not schedule.partitioned and not schedule.partitioned_at_runtime:
        raise PartitionKeyRefused(
            f"Dag {dag_id!r} is not a partitioned Dag and does not accept a partition_key."
        )
    if not partition_key.strip():
        raise PartitionKeyRefused("partition_key must not be empty or whitespace-only.")
    try:
        schedule.resolve_partition_date(partition_key)
    except ValueError as exc:
        raise PartitionKeyRefused(f"partition_key: {exc}") from None


class RunExists(ConveyorError):
    """The DAG already has a run with this run id."""


def run_creator(conn: Connection, dag_id: str, run_id: str) -> str | None:
    """Who made a run (its ``created_by``); None when there is no such run."""
    found = conn.execute(
        select(dag_run.c.created_by).where(dag_run.c.dag_id == dag_id, dag_run.c.run_id == run_id)
    ).first()
    return None if found is None else found.created_by


def trigger_run(
    conn: Connection,
    dag_id: str,
    *,
    created_by: str,
    conf: dict[str, Any] | None = None,
    logical_date: datetime | None = None,
    run_id: str | None = None,
    max_conf_bytes: int = DEFAULT_MAX_CONF_BYTES,
    run_type: str = "manual",
    run_id_prefix: str | None = None,
    partition_key: str | None = None,
) -> RunRow:
    """Queue a manual run of the DAG's newest version (at ``logical_date``, default now);
    ``run_type``: another on-demand type (``runs.ASSET_MATERIALIZE``), whose generated run
    id starts ``run_id_prefix`` (default: the type); ``partition_key``: the partition of
    data it is for.

    Raises ``InvalidRunId`` (a run id breaking the rule), ``NotFoundError`` (no such DAG, or
    its file fails to load), :class:`ConfRefused` (a ValueError: not strict JSON, larger than
    ``max_conf_bytes`` as JSON, or refused by the params), :class:`LogicalDateRefused` or
    :class:`RunExists`; nothing is written then.
    """
    if run_id is not None:
        check_run_id(run_id)
    conf = conf or {}
    try:
        check_conf(conf, max_conf_bytes)
    except NotStrictJson as exc:
        raise ConfRefused([str(exc)]) from None
    _version, structure = runs.latest_version(conn, dag_id)
    check_partition_key(dag_id, structure.schedule, partition_key)
    errors = conf_errors(dag_id, structure.params, conf, structure.param_specs)
    if errors:
        raise ConfRefused(errors)
    when = logical_date or utcnow()
    if run_id is None and run_id_prefix is not None:
        run_id = runs.make_run_id(run_id_prefix, when)
    try:
        run_pk = runs.create_manual_run(
            conn,
            dag_id,
            created_by=created_by,
            conf=conf,
            logical_date=when,
            run_id=run_id,
            run_type=run_type,
            partition_key=partition_key,
        )
    except (ValueError, OverflowError) as exc:  # a date the schedule cannot place
        raise LogicalDateRefused(f"logical_date: {exc}") from None
    if run_pk is None:
        made = run_id or runs.make_run_id(run_type, when)
        raise RunExists(f"DAG {dag_id!r} already has a run {made!r}")
    return runs.get_run(conn, run_pk)
