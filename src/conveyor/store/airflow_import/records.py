"""What an Airflow metadata database holds, as the import reads it: plain values, no SQL.

Secrets stay as Airflow stored them (Fernet tokens, or clear text where Airflow had no key):
decrypting them is the caller's job, with Airflow's key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class AirflowConnection:
    conn_id: str
    conn_type: str
    host: str | None
    port: int | None
    login: str | None
    password: str | None  # a Fernet token when is_encrypted
    schema: str | None
    extra: str | None  # a Fernet token when is_extra_encrypted
    description: str | None
    is_encrypted: bool
    is_extra_encrypted: bool


@dataclass(frozen=True)
class AirflowVariable:
    key: str
    value: str  # a Fernet token when is_encrypted
    description: str | None
    is_encrypted: bool


@dataclass(frozen=True)
class AirflowPool:
    name: str
    slots: int  # -1: no limit
    description: str | None


@dataclass(frozen=True)
class AirflowRole:
    name: str
    permissions: tuple[tuple[str, str], ...]  # (action, resource), sorted


@dataclass(frozen=True)
class AirflowUser:
    username: str
    password_hash: str | None  # werkzeug's encoding (pbkdf2:... or scrypt:...)
    active: bool
    roles: tuple[str, ...]


@dataclass(frozen=True)
class AirflowDag:
    dag_id: str
    is_paused: bool
    is_active: bool
    last_parsed_time: datetime | None
    fileloc: str | None


@dataclass(frozen=True)
class AirflowTry:
    """One try of a task instance: an earlier one from ``task_instance_history``, or the
    instance's own row for its current try."""

    try_number: int
    state: str | None
    start_date: datetime | None
    end_date: datetime | None
    duration: float | None
    hostname: str | None
    pid: int | None


@dataclass(frozen=True)
class AirflowTaskInstance:
    task_id: str
    map_index: int
    state: str | None
    try_number: int
    max_tries: int
    pool: str
    pool_slots: int
    queue: str | None
    priority_weight: int | None
    queued_at: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    hostname: str | None
    pid: int | None
    heartbeat_at: datetime | None
    note: str | None
    rendered_map_index: str | None
    tries: tuple[AirflowTry, ...]
    #: Why it is taken in another state than Airflow's (one it left unfinished at the switch).
    reason: str | None = None


@dataclass(frozen=True)
class AirflowRun:
    dag_id: str
    run_id: str
    run_type: str
    state: str
    logical_date: datetime | None
    data_interval_start: datetime | None
    data_interval_end: datetime | None
    run_after: datetime | None
    queued_at: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    conf: dict[str, Any] | None  # None: a conf that could not be read (named in the plan)
    note: str | None
    triggered_by: str | None
    task_instances: list[AirflowTaskInstance] = field(default_factory=list)
    #: The Jinja template of its tries' log paths below Airflow's log folder, as the run
    #: recorded it (``log_template``): the setting may have changed since.
    log_template: str | None = None


@dataclass(frozen=True)
class AirflowAssetEvent:
    """One update of an asset (Airflow 2's dataset) as Airflow recorded it."""

    uri: str
    extra: dict[str, Any]
    source_dag_id: str | None  # None: not a task's (the API's, a person's)
    source_run_id: str | None
    source_task_id: str | None
    source_map_index: int
    at: datetime
    partition_key: str | None
    #: The alias the task emitted it through (Airflow keeps a list; Conveyor one, the
    #: first by name), None: emitted to the asset itself.
    source_alias: str | None = None


@dataclass(frozen=True)
class AirflowQueuedAsset:
    """An asset update a DAG scheduled on assets had not consumed yet (Airflow's
    ``asset_dag_run_queue``): the DAG's next run waits for it with the others."""

    uri: str
    target_dag_id: str
    since: datetime  # when the first update not consumed was queued


@dataclass
class AirflowContents:
    """Everything the import takes from one Airflow database."""

    revision: str
    release: str
    connections: list[AirflowConnection]
    variables: list[AirflowVariable]
    pools: list[AirflowPool]
    roles: list[AirflowRole]
    users: list[AirflowUser]
    dags: list[AirflowDag]
    runs: list[AirflowRun]
    asset_events: list[AirflowAssetEvent] = field(default_factory=list)
    asset_queue: list[AirflowQueuedAsset] = field(default_factory=list)
    #: Runs whose conf could not be read (Airflow 2 pickles it), by (dag_id, run_id).
    unreadable_conf: list[tuple[str, str]] = field(default_factory=list)
