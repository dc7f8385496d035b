"""The running try's ids as Airflow names them for the processes it starts:
``AIRFLOW_CTX_DAG_ID``, ``AIRFLOW_CTX_TASK_ID``, ``AIRFLOW_CTX_LOGICAL_DATE``,
``AIRFLOW_CTX_TRY_NUMBER``, ``AIRFLOW_CTX_DAG_RUN_ID``, ``AIRFLOW_CTX_DAG_OWNER``,
``AIRFLOW_CTX_DAG_EMAIL``. As on Airflow they are in the try's environment while its task
runs (``exported``), so a BashOperator's command, a subprocess and a hook reading
``os.environ`` see them; ``context_to_airflow_vars`` gives them as a dict.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from conveyor.model.task import DEFAULT_OWNER

DEFAULT_FORMAT_PREFIX = "airflow.ctx."
ENV_VAR_FORMAT_PREFIX = "AIRFLOW_CTX_"
#: What ``context_to_airflow_vars`` names each value, in its two formats (Airflow's table).
AIRFLOW_VAR_NAME_FORMAT_MAPPING: dict[str, dict[str, str]] = {
    f"AIRFLOW_CONTEXT_{suffix}": {
        "default": f"{DEFAULT_FORMAT_PREFIX}{suffix.lower()}",
        "env_var_format": f"{ENV_VAR_FORMAT_PREFIX}{suffix}",
    }
    for suffix in (
        "DAG_ID",
        "TASK_ID",
        "LOGICAL_DATE",
        "TRY_NUMBER",
        "DAG_RUN_ID",
        "DAG_OWNER",
        "DAG_EMAIL",
        "TEAM_NAME",
    )
}

#: (context entry, its attribute, the variable's suffix), in the order Airflow writes them.
_CONTEXT_VARIABLES = (
    ("task", "email", "DAG_EMAIL"),
    ("task", "owner", "DAG_OWNER"),
    ("task_instance", "dag_id", "DAG_ID"),
    ("task_instance", "task_id", "TASK_ID"),
    ("dag_run", "logical_date", "LOGICAL_DATE"),
    ("task_instance", "try_number", "TRY_NUMBER"),
    ("dag_run", "run_id", "DAG_RUN_ID"),
    ("dag_run", "team_name", "TEAM_NAME"),
)


def context_to_airflow_vars(
    context: Mapping[str, Any], in_env_var_format: bool = False
) -> dict[str, str]:
    """The running try's ids as ``AIRFLOW_CTX_DAG_ID``... (``in_env_var_format``) or
    ``airflow.ctx.dag_id``..., for a subprocess to know what runs it: what is unset or empty
    is left out, a list (the task's emails) is joined with commas."""
    form = "env_var_format" if in_env_var_format else "default"
    found: dict[str, str] = {}
    for entry, attribute, suffix in _CONTEXT_VARIABLES:
        value = getattr(context.get(entry), attribute, None)
        if (entry, attribute) == ("task", "owner") and context.get("task") is not None:
            value = value or DEFAULT_OWNER  # the owner a task that names none has on Airflow
        if not value:
            continue
        if isinstance(value, list | tuple):
            text = ",".join(map(str, value))
        else:
            text = value.isoformat() if isinstance(value, datetime) else str(value)
        found[AIRFLOW_VAR_NAME_FORMAT_MAPPING[f"AIRFLOW_CONTEXT_{suffix}"][form]] = text
    return found


#: What this process's own environment held under these names when it started (normally
#: nothing): put back after each try.
_INHERITED = {k: v for k, v in os.environ.items() if k.startswith(ENV_VAR_FORMAT_PREFIX)}


@contextmanager
def exported(context: Mapping[str, Any]) -> Iterator[None]:
    """The try's ids in ``os.environ`` for the block, taken out after it (one process runs
    many tries)."""
    found = context_to_airflow_vars(context, in_env_var_format=True)
    environ = os.environ
    for name, value in found.items():
        environ[name] = value
    try:
        yield
    finally:
        for name in found:
            inherited = _INHERITED.get(name)
            if inherited is None:
                environ.pop(name, None)
            else:
                environ[name] = inherited


def in_environment() -> dict[str, str]:
    """The try's ids as they are in ``os.environ`` now (what ``exported`` put there)."""
    return {k: v for k, v in os.environ.items() if k.startswith(ENV_VAR_FORMAT_PREFIX)}
