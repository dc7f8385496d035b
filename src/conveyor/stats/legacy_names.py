"""Airflow's legacy metric names, and how a metric's legacy name is made from its tags.

Before Airflow 3.2 a metric carried its DAG, task or pool in its name
(``ti.finish.<dag_id>.<task_id>.<state>``); since, the plain name carries them as tags, and
with ``[metrics] legacy_names_on`` (its default) every metric that had a legacy name is sent
under both. Airflow 3.3 makes the legacy name from the plain one's tags, by one rule: the tags
the name holds are written into it (a ``.`` in a value becomes ``__``, so that a task group's
``group.task`` stays one segment of the name) and only the other tags stay tags. Conveyor keeps
that rule here, so a dashboard made on either name reads the same series.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Mapping

log = logging.getLogger(__name__)

#: Each metric Conveyor sends that had a legacy name, and that name's template: Airflow 3.3's
#: metrics reference (its registry of metric names).
TEMPLATES: Mapping[str, str] = {
    "ti.start": "ti.start.{dag_id}.{task_id}",
    "ti.finish": "ti.finish.{dag_id}.{task_id}.{state}",
    "operator_failures": "operator_failures_{operator_name}",
    "operator_successes": "operator_successes_{operator_name}",
    "task_instance_created": "task_instance_created_{task_type}",
    "task.duration": "dag.{dag_id}.{task_id}.duration",
    "task.scheduled_duration": "dag.{dag_id}.{task_id}.scheduled_duration",
    "task.queued_duration": "dag.{dag_id}.{task_id}.queued_duration",
    "dagrun.dependency-check": "dagrun.dependency-check.{dag_id}",
    "dagrun.duration.success": "dagrun.duration.success.{dag_id}",
    "dagrun.duration.failed": "dagrun.duration.failed.{dag_id}",
    "dagrun.schedule_delay": "dagrun.schedule_delay.{dag_id}",
    "dagrun.first_task_scheduling_delay": "dagrun.{dag_id}.first_task_scheduling_delay",
    "dag_processing.last_duration": "dag_processing.last_duration.{bundle_name}.{file_name}",
    "dag_processing.last_run.seconds_ago": "dag_processing.last_run.seconds_ago.{file_name}",
    "executor.open_slots": "executor.open_slots.{executor_class_name}",
    "executor.queued_tasks": "executor.queued_tasks.{executor_class_name}",
    "executor.running_tasks": "executor.running_tasks.{executor_class_name}",
    "pool.open_slots": "pool.open_slots.{pool_name}",
    "pool.queued_slots": "pool.queued_slots.{pool_name}",
    "pool.running_slots": "pool.running_slots.{pool_name}",
    "pool.deferred_slots": "pool.deferred_slots.{pool_name}",
    "pool.scheduled_slots": "pool.scheduled_slots.{pool_name}",
    "pool.starving_tasks": "pool.starving_tasks.{pool_name}",
    "triggers.running": "triggers.running.{hostname}",
    "triggerer.capacity_left": "triggerer.capacity_left.{hostname}",
    "ti.scheduled": "ti.scheduled.{queue}.{dag_id}.{task_id}",
    "ti.queued": "ti.queued.{queue}.{dag_id}.{task_id}",
    "ti.running": "ti.running.{queue}.{dag_id}.{task_id}",
    "ti.deferred": "ti.deferred.{queue}.{dag_id}.{task_id}",
    "ol.emit.attempts": "ol.emit.attempts.{event_type}.{transport_type}",
    "ol.extract": "ol.extract.{event_type}.{operator_name}",
}


def _names_in(template: str) -> frozenset[str]:
    return frozenset(field for _, field, _, _ in string.Formatter().parse(template) if field)


_INVALID = re.compile(r"[^a-zA-Z0-9_.-]")


_NAMES_IN: Mapping[str, frozenset[str]] = {
    name: _names_in(template) for name, template in TEMPLATES.items()
}


def legacy_of(name: str, tags: Mapping[str, str]) -> tuple[str, dict[str, str]] | None:
    """``name``'s legacy name made from ``tags``, and the tags it keeps; None for a metric
    without one, or (logged: a tag the call should give) when a tag its name holds is
    missing."""
    held = _NAMES_IN.get(name)
    if held is None:
        return None
    if not held <= tags.keys():
        log.error(
            "metric %s sent without its tags %s: its legacy name is not sent",
            name,
            sorted(held - tags.keys()),
        )
        return None
    values = {key: str(tags[key]).replace(".", "__") for key in held}
    kept = {key: value for key, value in tags.items() if key not in held}
    return TEMPLATES[name].format(**values), kept


def stats_name(name: str) -> str:
    """``name`` as Airflow puts a pool's, a file's or a bundle's name into a metric: each
    character outside ``A-Z a-z 0-9 _ . -`` becomes ``_``."""
    return _INVALID.sub("_", name)
