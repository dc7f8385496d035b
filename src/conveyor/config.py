"""Configuration: defaults, then ``$CONVEYOR_HOME/conveyor.toml``, then Airflow's
``AIRFLOW__SECTION__KEY`` variables of the settings Conveyor shares (``airflow_settings``),
then ``CONVEYOR_*`` variables.

Each value remembers where it came from, so ``conveyor config show`` can say. A value that
does not validate stops the process with the key, the value and what was expected.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from conveyor.airflow_settings import from_airflow, warn_ignored
from conveyor.auth_settings import AUTH_SECRET_KEYS, AuthSettings
from conveyor.exceptions import ConfigError

ENV_PREFIX = "CONVEYOR_"
CONFIG_FILE_NAME = "conveyor.toml"
_S3_URL = re.compile(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?")
_SECRET_KWARG = re.compile(r"secret|token|password|pass$|credential|key$|role_id", re.I)
SECRET_KEYS = frozenset({"database_url", "broker_url", "secret_key"})


class Settings(AuthSettings):
    """Every setting, with its default. Paths left empty are derived from ``home``.

    The sign-in settings (``auth_*``) come from :class:`AuthSettings`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    home: Path = Field(default=Path("~/.conveyor"), description="where state and logs live")
    dags_folder: Path | None = Field(default=None, description="default: $home/dags")
    plugins_folder: Path | None = Field(
        default=None,
        description="on sys.path with the DAG folder's root (Airflow's plugins_folder); "
        "default: $home/plugins",
    )
    database_url: str | None = Field(default=None, description="default: sqlite at $home")
    executor: Literal["local", "celery", "kubernetes", "celery_kubernetes"] = Field(
        default="local",
        description="local (a process pool here), celery (Celery workers), kubernetes (a pod "
        "per try) or celery_kubernetes (Celery, with the kubernetes queue's tries and the "
        "tasks that ask for executor='KubernetesExecutor' in pods)",
    )
    broker_url: str = "redis://127.0.0.1:6379/0"
    parallelism: int = Field(default=8, ge=1, description="tries queued or running at once")
    log_folder: Path | None = Field(default=None, description="default: $home/logs")
    scheduler_loop_seconds: float = Field(default=1.0, gt=0, le=60)
    scheduler_tracemalloc: bool = Field(
        default=False,
        description="trace the scheduler's memory and log the lines holding and gaining the "
        "most on SIGUSR1 (Airflow's [scheduler] enable_tracemalloc); costly, for finding a leak",
    )
    dag_scan_seconds: float = Field(
        default=1.0, gt=0, description="how often to look for changed DAG files"
    )
    parse_timeout_seconds: float = Field(default=30.0, gt=0)
    min_file_process_interval: float = Field(
        default=30.0,
        gt=0,
        description="every DAG file is parsed again this many seconds after its last parse "
        "even when unchanged (Airflow's name), so an import error that depended on a "
        "variable or connection clears by itself; a parse that finds the same DAG changes "
        "nothing",
    )
    dags_are_paused_at_creation: bool = Field(
        default=True,
        description="a DAG seen for the first time is paused until a person unpauses it, "
        "as in Airflow; a DAG's own is_paused_upon_creation wins. Only the first "
        "registration: a DAG already known keeps its pause state",
    )
    dag_parse_processes: int = Field(
        default=2, ge=1, description="DAG parse processes at once, each parsing one file at a time"
    )
    dag_parse_files_per_process: int = Field(
        default=20,
        ge=1,
        description="DAG files a parse process imports one after another when several wait "
        "(a folder parsed again each min_file_process_interval): between two files the "
        "modules of the DAG and plugins folders, sys.path, the environment and the working "
        "folder are put back, what a file changes in a library it imported is not; 1 gives "
        "every file a process of its own, as Airflow's processor does",
    )
    dag_processor_stats_seconds: float = Field(
        default=30.0,
        ge=0,
        description="how often the DAG file processor sends each parsed file's age, "
        "dag_processing.last_run.seconds_ago, when metrics are on (Airflow's [dag_processor] "
        "print_stats_interval); 0: never",
    )
    dag_parse_loop_seconds: float = Field(
        default=0.5,
        gt=0,
        description="the most of each scheduler loop spent saving parsed DAG files (parsing "
        "itself runs between loops); the rest are saved in the next loops",
    )
    heartbeat_seconds: float = Field(default=5.0, gt=0)
    zombie_after_seconds: float = Field(
        default=60.0, gt=0, description="no heartbeat for this long: the try is lost"
    )
    worker_fence_fraction: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="a worker that has failed to write its heartbeat for this fraction of "
        "zombie_after_seconds stops its running tries (SIGTERM, on_kill, SIGKILL after "
        "kill_grace_seconds) and takes no new ones until the store answers again, so that "
        "no try it runs is still running when the scheduler hands it on",
    )
    store_idle_transaction_seconds: float = Field(
        default=30.0,
        ge=0,
        description="PostgreSQL ends a session of Conveyor's that stays this long inside a "
        "transaction without sending its next statement (idle_in_transaction_session_timeout), "
        "freeing the row locks of a process whose link went silent; 0: never",
    )
    store_dead_link_seconds: float = Field(
        default=30.0,
        ge=0,
        description="a PostgreSQL connection whose other end answers nothing for this long "
        "is declared dead on both ends (TCP keepalives and tcp_user_timeout, set in libpq and "
        "on the server); 0: the system's defaults (hours)",
    )
    requeue_after_seconds: float = Field(
        default=30.0, gt=0, description="queued but not started for this long: send again"
    )
    kill_grace_seconds: float = Field(
        default=5.0,
        ge=0,
        description="a try being stopped (marked, cleared, timed out) gets SIGTERM, its "
        "operator's on_kill runs, and its process group gets SIGKILL this much later "
        "(Airflow's killed_task_cleanup_time); also a stopping worker's grace",
    )
    stop_check_seconds: float = Field(
        default=1.0,
        gt=0,
        description="how often an executor or worker looks in the store for stops asked of "
        "the tries it runs (a person marked or cleared one, its run timed out)",
    )
    kubernetes_allow_exec_plugins: bool = Field(
        default=False,
        description="let a connection's kube_config run a credential plugin (exec, "
        "auth-provider) on this worker: whoever edits connections could run commands here",
    )
    kubernetes_namespace: str = Field(
        default="default", description="the namespace of the tries' pods"
    )
    kubernetes_pod_template_file: Path | None = Field(
        default=None,
        description="a pod YAML every try's pod starts from (the task's pod_override is laid "
        "over it); default: a pod of one container named base",
    )
    kubernetes_worker_container_repository: str = Field(
        default="localhost/conveyor", description="the image of the tries' pods, without tag"
    )
    kubernetes_worker_container_tag: str = Field(
        default="latest", description="the tag of the tries' image"
    )
    kubernetes_delete_worker_pods: bool = Field(
        default=True, description="delete a try's pod once it has ended"
    )
    kubernetes_delete_worker_pods_on_failure: bool = Field(
        default=False,
        description="with kubernetes_delete_worker_pods, delete failed pods too (otherwise "
        "kept for a look)",
    )
    kubernetes_worker_pods_creation_batch_size: int = Field(
        default=1, ge=1, description="pods created per scheduler loop at most"
    )
    kubernetes_worker_pods_pending_timeout: float = Field(
        default=300.0,
        gt=0,
        description="seconds a try's pod may stay pending (unschedulable, an image still "
        "pulling) before its try fails with the pod's reason and the pod is deleted",
    )
    kubernetes_multi_namespace_mode: bool = Field(
        default=False,
        description="look for the executor's pods in every namespace (a pod_override or "
        "template may name its own), which needs a cluster role",
    )
    kubernetes_in_cluster: bool = Field(
        default=True,
        description="the scheduler runs in the cluster and uses its service account; false: "
        "the kube config (kubernetes_config_file)",
    )
    kubernetes_config_file: Path | None = Field(
        default=None, description="the kube config when not in cluster; default: the client's"
    )
    kubernetes_cluster_context: str | None = Field(
        default=None, description="the kube config's context to use; default: its current one"
    )
    kubernetes_pod_launcher: Literal["cluster", "podman"] = Field(
        default="cluster",
        description="cluster: the pods go to the Kubernetes API; podman: `podman kube play` "
        "runs the same pod YAML on this machine (no cluster; for trying things out and tests)",
    )
    celery_kubernetes_queue: str = Field(
        default="kubernetes",
        description="with executor = celery_kubernetes, tries of this queue run in pods "
        "(Airflow's [celery_kubernetes_executor] kubernetes_queue)",
    )
    worker_streak_seconds: float = Field(
        default=1.0,
        ge=0,
        description="a Celery pool process that finishes a try starts the next try it queued "
        "itself, without the broker, for up to this long after taking a message; then it "
        "sends that try through the broker and takes the next message (0: always the broker)",
    )
    max_dagruns_to_create_per_loop: int = Field(
        default=10,
        ge=1,
        description="the most DAGs a scheduler loop creates scheduled runs for (Airflow's "
        "name, meaning and default); when more are due at once, the longest overdue go "
        "first and the next loop, which starts at once, takes the rest, so the first tasks "
        "of the runs made are queued while the burst is still worked through",
    )
    max_dagruns_per_loop_to_schedule: int = Field(
        default=20,
        ge=1,
        description="the most running runs a scheduler loop plans whole, and the most queued "
        "runs it starts, each planned as it starts (Airflow's name, meaning and default: the "
        "runs it examines to schedule their tasks, and to set running); those left go first "
        "in the next loop, which starts at once",
    )
    run_sweep_seconds: float = Field(
        default=30.0,
        gt=0,
        description="the scheduler plans each running run whole at least this often, as a "
        "last resort; in between it plans only the runs that changed or came due",
    )
    local_reuse_processes: bool = Field(
        default=True,
        description="the local executor runs tries one after another in long-lived runner "
        "processes that keep the DAG versions they imported, as Celery pool processes do; "
        "false: a fresh process per try, for tries that must not share one",
    )
    local_runner_max_tries: int = Field(
        default=10_000,
        ge=1,
        description="tries a runner process runs before it is replaced (a bound on what user "
        "code leaks; each replacement imports its DAG files again)",
    )
    fernet_key: str | None = Field(
        default=None,
        description="encrypts connection secrets and variables in the store (Fernet; several "
        "comma-separated keys rotate: the first encrypts); default: $home/fernet.key, "
        "created on first use",
    )
    api_test_connection: bool = Field(
        default=False,
        description="POST /api/v2/connections/test runs the connection's hook in the web "
        "server (Airflow's [core] test_connection = Enabled); off, it answers 403, as Airflow "
        "does by default: a test reaches whatever host the caller names",
    )
    api_expose_config: bool = Field(
        default=False,
        description="GET /api/v2/config shows these settings to admins, secrets hidden "
        "(Airflow's [api] expose_config = non-sensitive-only); off, it answers 403",
    )
    base_url: str = Field(
        default="",
        description="path prefix the web app is served under behind a proxy, e.g. /conveyor; "
        "a full URL (Airflow's [api] base_url, https://host/conveyor) sets web_url too",
    )
    web_url: str | None = Field(
        default=None,
        description="the web UI's address as people open it, e.g. https://conveyor.example.com"
        "; links sent out (ti.log_url in failure alerts) point there; default: "
        "http://localhost:8080 and base_url",
    )
    secret_key: str | None = Field(
        default=None,
        description="signs web session cookies; default: generated once into $home/secret_key",
    )
    secure_cookies: bool = Field(
        default=False,
        description="always mark the session cookie Secure (it is anyway on a request that "
        "came over HTTPS, also as a trusted proxy's X-Forwarded-Proto)",
    )
    max_request_bytes: int = Field(
        default=1 << 20, ge=1024, description="larger request bodies are refused (413)"
    )
    max_conf_bytes: int = Field(
        default=64 << 10, ge=2, description="a larger run conf, as JSON, is refused (422)"
    )
    max_requests_per_address: int = Field(
        default=16,
        ge=1,
        description="requests in flight at once from one client address per web process; "
        "more are answered 429 with Retry-After",
    )
    max_expensive_requests_per_address: int = Field(
        default=2,
        ge=1,
        description="sign-ins (logins, tokens, basic auth) and new users in flight at once "
        "from one client address per web process; more are answered 429 with Retry-After",
    )
    audit_retention_days: int = Field(
        default=365,
        ge=0,
        description="`conveyor db clean` deletes audit log entries older than this many "
        "days; 0: keeps them forever",
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="failed logins per user and per client address before logins wait",
    )
    login_backoff_seconds: float = Field(
        default=30.0,
        gt=0,
        description="the first wait after login_max_failures; it doubles with each failure after",
    )
    login_backoff_max_seconds: float = Field(
        default=900.0, gt=0, description="the longest wait between failed logins"
    )
    login_concurrent_checks: int = Field(
        default=4, ge=1, description="password hashes checked at once per web process"
    )
    token_expiry_days: float = Field(
        default=90.0, gt=0, description="an API token's lifetime unless its creator gives one"
    )
    api_jwt_expiry_seconds: int = Field(
        default=86400,
        ge=60,
        le=366 * 86400,
        description="lifetime of the access tokens POST /auth/token hands out for the "
        "Airflow-compatible API at /api/v2 (Airflow's [api_auth] jwt_expiration_time)",
    )
    api_basic_auth: bool = Field(
        default=False,
        description="/api/v2 also takes 'Authorization: Basic' (user name and password) from "
        "Airflow 2 style callers; each such request costs a password check",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="`conveyor scheduler` and `conveyor worker` serve Prometheus metrics on "
        "this port (unset: not served; the web process always has /metrics)",
    )
    metrics_window_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="task duration and scheduling delay in /metrics cover tries started "
        "within this many seconds",
    )
    # Airflow's [metrics] settings, by Airflow's key names (AIRFLOW__METRICS__... sets them):
    # Airflow's metric names sent to StatsD / DogStatsD and OpenTelemetry (docs/metrics.md).
    statsd_on: bool = Field(
        default=False,
        description="send Airflow's metrics, by Airflow's names, to StatsD over UDP from "
        "the scheduler, workers and triggerer (docs/metrics.md)",
    )
    statsd_host: str = Field(
        default="localhost", min_length=1, description="the StatsD daemon's host name or address"
    )
    statsd_port: int = Field(default=8125, ge=1, le=65535, description="the StatsD daemon's port")
    statsd_ipv6: bool = Field(
        default=False,
        description="reach statsd_host over IPv6 (default: its IPv4 address when it has one)",
    )
    statsd_prefix: str = Field(
        default="airflow", description="put in front of every metric name, with a dot"
    )
    statsd_datadog_enabled: bool = Field(
        default=False,
        description="speak DogStatsD: each metric carries Airflow's tags (dag_id, task_id, ...)",
    )
    statsd_datadog_tags: str = Field(
        default="",
        description="tags added to every DogStatsD metric, comma-separated: env:prod,team:data",
    )
    statsd_datadog_metrics_tags: bool = Field(
        default=True,
        description="DogStatsD metrics carry their own tags; false: only statsd_datadog_tags",
    )
    statsd_disabled_tags: str = Field(
        default="job_id,run_id",
        description="tag names never sent over DogStatsD (comma-separated; Airflow's default)",
    )
    legacy_names_on: bool = Field(
        default=True,
        description="send each metric that had a legacy name under it too, the tags it holds "
        "written into it (ti.finish.<dag_id>.<task_id>.<state> beside ti.finish), as Airflow "
        "3.3 does",
    )
    metrics_allow_list: str = Field(
        default="",
        description="comma-separated patterns (regular expressions, searched anywhere in the "
        "name, lower case): only the metrics one matches are sent, to StatsD and "
        "OpenTelemetry; when set, metrics_block_list is ignored",
    )
    metrics_block_list: str = Field(
        default="",
        description="comma-separated patterns as metrics_allow_list: the metrics one matches "
        "are not sent",
    )
    otel_on: bool = Field(
        default=False,
        description="send Airflow's metrics, by Airflow's names, to an OpenTelemetry collector "
        "(OTLP over HTTP, or as the OTEL_EXPORTER_OTLP_* variables say; needs conveyor[otel]; "
        "docs/metrics.md)",
    )
    otel_host: str = Field(default="localhost", min_length=1, description="the collector's host")
    otel_port: int = Field(
        default=8889, ge=1, le=65535, description="the collector's OTLP/HTTP port"
    )
    otel_prefix: str = Field(
        default="airflow", description="put in front of every metric name, with a dot"
    )
    otel_interval_milliseconds: int = Field(
        default=60000, ge=1, description="how often the metrics gathered are exported"
    )
    otel_ssl_active: bool = Field(default=False, description="export over HTTPS")
    otel_service: str = Field(
        default="Airflow",
        min_length=1,
        description="the service.name the metrics are sent as, unless OTEL_SERVICE_NAME is set",
    )
    otel_debugging_on: bool = Field(
        default=False,
        description="print the metrics to the console as well (OTEL_METRICS_EXPORTER, when set, "
        "decides: console or not)",
    )
    # Airflow's [traces] settings (AIRFLOW__TRACES__... sets them): a DAG run's and its tries'
    # spans, by Airflow's names, to an OpenTelemetry collector (docs/metrics.md, Traces).
    traces_otel_on: bool = Field(
        default=False,
        description="send the spans of each DAG run and its task tries, as Airflow names them, "
        "to an OpenTelemetry collector (by the exporter OTEL_TRACES_EXPORTER names, OTLP over "
        "gRPC by default, as Airflow's; needs conveyor[otel]; docs/metrics.md)",
    )
    traces_otel_host: str = Field(
        default="localhost", min_length=1, description="the trace collector's host"
    )
    traces_otel_port: int = Field(
        default=8889, ge=1, le=65535, description="the trace collector's OTLP port"
    )
    traces_otel_ssl_active: bool = Field(default=False, description="export spans over HTTPS")
    traces_otel_service: str = Field(
        default="Airflow", min_length=1, description="the service.name the spans are sent as"
    )
    traces_otel_debugging_on: bool = Field(
        default=False, description="print every span to the console as well"
    )
    traces_task_runner_flush_timeout_milliseconds: int = Field(
        default=30000,
        ge=0,
        description="how long a try's process waits, after the try, for its spans to be sent",
    )
    web_timeout_seconds: int = Field(
        default=120,
        ge=1,
        description="as Airflow's [api] worker_timeout: how long the web server keeps an idle "
        "connection open for its next request (longer than the idle timeout of a proxy or "
        "load balancer in front, so that the proxy closes first), and how long a stop lets "
        "the answers in progress finish before it cuts them",
    )
    web_plugins: bool = Field(
        default=True,
        description="the web server imports the plugins folder at start and serves its "
        "plugins' fastapi_apps, fastapi_root_middlewares and external_views, as Airflow's API "
        "server does (false: the web server runs no user code; docs/security.md)",
    )
    airflow_compat: bool = Field(
        default=True,
        description="`import airflow...` in DAG files resolves to Conveyor, and Python files "
        "that mention airflow and dag are scanned as DAG files (docs/airflow.md)",
    )
    airflow_installed_providers: str = Field(
        default="",
        pattern=r"^\s*([a-z0-9_.]+\s*(,\s*[a-z0-9_.]+\s*)*)?$",
        description="providers Conveyor ships (comma-separated, as Airflow names them: "
        "'http,slack') whose installed apache-airflow-providers-* package is imported instead "
        'of Conveyor\'s version (docs/airflow.md, "Providers Conveyor does not ship")',
    )
    allowed_deserialization_classes: str = Field(
        default="airflow.*",
        description="classes an XCom value may be read back as beyond the builtin kinds "
        "(datetimes, sets, Decimal...): space-separated glob patterns of their module paths, "
        "'my_team.models.*' (Airflow's [core] allowed_deserialization_classes)",
    )
    allowed_deserialization_classes_regexp: str = Field(
        default="",
        description="the same as regular expressions, each matching a whole class path "
        "(Airflow's [core] allowed_deserialization_classes_regexp)",
    )
    dag_discovery_safe_mode: bool = Field(
        default=True,
        description="only the Python files of the DAG folder that mention conveyor or airflow, "
        "and dag or asset, are parsed (Airflow's [core] dag_discovery_safe_mode); off: every "
        "Python file",
    )
    dag_ignore_file_syntax: Literal["glob", "regexp"] = Field(
        default="glob",
        description="the syntax of .airflowignore files in the DAG and plugins folders "
        "(Airflow's [core] dag_ignore_file_syntax; glob is Airflow 3's default, regexp "
        "Airflow 2's)",
    )
    remote_logs_url: str | None = Field(
        default=None,
        description="copy every try's log to this S3-compatible location, e.g. "
        "s3://bucket/prefix (needs conveyor[s3]; credentials from AWS_* variables)",
    )
    remote_logs_endpoint_url: str | None = Field(
        default=None,
        description="endpoint of the S3-compatible service (default: AWS, or AWS_ENDPOINT_URL)",
    )
    secrets_backend: str | None = Field(
        default=None,
        description="where connections and variables are looked up before the environment "
        "and the store (Airflow's [secrets] backend): an import path of a backend class; "
        "Airflow's class paths of its AWS, local-file and Vault backends name Conveyor's own "
        "(docs/security.md)",
    )
    # Kept as JSON text (a table in conveyor.toml is written as its JSON) so that Settings
    # stays hashable; ``backend_kwargs`` gives the object.
    secrets_backend_kwargs: str = Field(
        default="{}",
        description="the backend's arguments as a JSON object (Airflow's [secrets] "
        'backend_kwargs), e.g. {"connections_prefix": "airflow/connections"}',
    )
    secrets_use_cache: bool = Field(
        default=False,
        description="while DAG files are parsed, keep each connection and variable found "
        "for secrets_cache_ttl_seconds (Airflow's [secrets] use_cache); tries always look up",
    )
    secrets_cache_ttl_seconds: float = Field(
        default=900.0,
        ge=0,
        description="how long a cached connection or variable is used (Airflow's [secrets] "
        "cache_ttl_seconds)",
    )
    # Airflow's [providers.jdbc] settings (AIRFLOW__PROVIDERS_JDBC__... wins, as there): a
    # connection's extra may name the JDBC driver's jar and class only when these allow it.
    providers_jdbc_allow_driver_path_in_extra: bool = Field(
        default=False,
        description="JdbcHook loads the driver jar named by a connection's driver_path extra "
        "(whoever edits connections then chooses code the tasks run)",
    )
    providers_jdbc_allow_driver_class_in_extra: bool = Field(
        default=False,
        description="JdbcHook uses the driver class named by a connection's driver_class extra",
    )
    # Airflow's [openlineage] settings (AIRFLOW__OPENLINEAGE__... wins, as there; the
    # OpenLineage client's own OPENLINEAGE_* variables are read too): docs/lineage.md.
    openlineage_disabled: bool = Field(
        default=False,
        description="send no OpenLineage events even when a transport is configured",
    )
    # JSON text, as secrets_backend_kwargs (a table in conveyor.toml is written as its JSON).
    openlineage_transport: str = Field(
        default="",
        description="the OpenLineage client's transport as a JSON object, e.g. "
        '{"type": "http", "url": "http://marquez:5000"} (Airflow\'s [openlineage] transport)',
    )
    openlineage_config_path: str = Field(
        default="",
        description="a YAML file of the OpenLineage client's configuration (Airflow's "
        "[openlineage] config_path); used when no transport is given",
    )
    openlineage_namespace: str = Field(
        default="",
        description="the namespace of the DAGs' and tasks' jobs (default: OPENLINEAGE_NAMESPACE "
        "or 'default')",
    )
    openlineage_disabled_for_operators: str = Field(
        default="",
        description="operator classes whose tasks send no events, full paths separated by ';' "
        "(Airflow's paths or Conveyor's)",
    )
    openlineage_disable_source_code: bool = Field(
        default=False,
        description="send no sourceCode facet (a Python task's function, a Bash task's "
        "command) with the tasks' events",
    )
    openlineage_selective_enable: bool = Field(
        default=False,
        description="only DAGs and tasks marked with enable_lineage send events",
    )
    openlineage_execution_timeout: float = Field(
        default=10.0,
        ge=0,
        description="seconds a process's end waits for its queued OpenLineage events to be "
        "sent; the tasks never wait for them",
    )
    openlineage_queue_size: int = Field(
        default=1000,
        ge=1,
        description="OpenLineage events a process holds while they are sent; one more is "
        "dropped and counted (conveyor_lineage_events_dropped_total)",
    )

    @model_validator(mode="before")
    @classmethod
    def _split_full_base_url(cls, data: Any) -> Any:
        """Airflow's ``base_url`` is a full URL: its path is the prefix, the whole the
        address links point at (unless web_url is given)."""
        if isinstance(data, dict) and "://" in str(data.get("base_url") or ""):
            full = str(data["base_url"]).strip()
            data = {**data, "base_url": urlsplit(full).path}
            data.setdefault("web_url", full)
        return data

    @field_validator("secrets_backend_kwargs", mode="before")
    @classmethod
    def _parse_backend_kwargs(cls, value: Any) -> str:
        """JSON text from an environment variable, as in Airflow, or a table from the file;
        kept as canonical JSON text of an object."""
        if isinstance(value, str):
            text = value.strip() or "{}"
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"a JSON object ({exc.msg} at column {exc.colno})") from None
        if not isinstance(value, dict):
            raise ValueError("a JSON object of the backend's arguments")
        return json.dumps(value, sort_keys=True, default=str)

    @field_validator("openlineage_transport", mode="before")
    @classmethod
    def _parse_openlineage_transport(cls, value: Any) -> str:
        """Empty, or canonical JSON text of an object (a table from the file)."""
        if isinstance(value, str):
            if not value.strip():
                return ""
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"a JSON object ({exc.msg} at column {exc.colno})") from None
        if not isinstance(value, dict):
            raise ValueError('a JSON object such as {"type": "console"}')
        return json.dumps(value, sort_keys=True, default=str)

    @field_validator("secrets_backend")
    @classmethod
    def _check_backend_path(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        if value is not None and not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+", value):
            raise ValueError("an import path such as package.module.ClassName")
        return value

    @field_validator("web_url")
    @classmethod
    def _check_web_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", value):
            raise ValueError("an http:// or https:// URL such as https://conveyor.example.com")
        return value.rstrip("/") if value else None

    @field_validator("base_url")
    @classmethod
    def _normalize_base_url(cls, value: str) -> str:
        """``conveyor/`` and ``/conveyor`` mean the same prefix; ``/`` means none."""
        text = value.strip().strip("/")
        if any(c in text for c in "?#") or " " in text:
            raise ValueError("a URL path such as /conveyor, without query or spaces")
        return f"/{text}" if text else ""

    @field_validator("remote_logs_url")
    @classmethod
    def _check_remote_logs_url(cls, value: str | None) -> str | None:
        if value is not None and not _S3_URL.fullmatch(value):
            raise ValueError("an S3 location such as s3://bucket or s3://bucket/prefix")
        return value.rstrip("/") if value else None

    @field_validator("remote_logs_endpoint_url")
    @classmethod
    def _check_endpoint_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^/\s]+/?", value):
            raise ValueError("an http:// or https:// URL such as http://minio:9000")
        return value.rstrip("/") if value else None

    def resolved(self) -> Settings:
        home = self.home.expanduser().resolve()
        return self.model_copy(
            update={
                "home": home,
                "dags_folder": (self.dags_folder or home / "dags").expanduser().resolve(),
                "plugins_folder": (self.plugins_folder or home / "plugins").expanduser().resolve(),
                "log_folder": (self.log_folder or home / "logs").expanduser().resolve(),
                "database_url": self.database_url or f"sqlite:///{home / 'conveyor.db'}",
            }
        )

    # The properties below are what the rest of the code reads: always set after resolved().
    @property
    def dags_path(self) -> Path:
        assert self.dags_folder is not None
        return self.dags_folder

    @property
    def plugins_path(self) -> Path:
        assert self.plugins_folder is not None
        return self.plugins_folder

    @property
    def logs_path(self) -> Path:
        assert self.log_folder is not None
        return self.log_folder

    @property
    def public_web_url(self) -> str:
        """Where people open the web UI: links to its pages start with this."""
        return self.web_url or f"http://localhost:8080{self.base_url}"

    @property
    def backend_kwargs(self) -> dict[str, Any]:
        """``secrets_backend_kwargs`` as the object it holds."""
        found: dict[str, Any] = json.loads(self.secrets_backend_kwargs)
        return found

    @property
    def db_url(self) -> str:
        """The store's URL as Conveyor connects to it: on PostgreSQL, with the session
        settings of ``store_idle_transaction_seconds`` and ``store_dead_link_seconds`` (a
        parameter the URL sets itself wins)."""
        assert self.database_url is not None
        return with_link_settings(
            self.database_url,
            idle_transaction_seconds=self.store_idle_transaction_seconds,
            dead_link_seconds=self.store_dead_link_seconds,
        )


def with_link_settings(
    url: str, *, idle_transaction_seconds: float, dead_link_seconds: float
) -> str:
    """``url`` with libpq parameters (and the server settings its ``options`` carries) that
    make a silent link end: on the server, a transaction left idle ends after
    ``idle_transaction_seconds`` and its locks with it; on both ends, a connection whose peer
    acknowledges nothing is dropped after ``dead_link_seconds``. A URL that is not
    PostgreSQL's is returned as it is; a parameter the URL names already is left to it, and
    its own ``options`` come after ours, so they win."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        return url
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    server: list[str] = []
    if idle_transaction_seconds > 0:
        server.append(f"idle_in_transaction_session_timeout={_ms(idle_transaction_seconds)}")
    if dead_link_seconds > 0:
        # Quiet for a third of it, then probes every sixth (whole seconds, as TCP takes
        # them): idle + interval x count comes to dead_link_seconds (30: 10 + 5 x 4).
        idle = max(1, round(dead_link_seconds / 3))
        every = max(1, round(dead_link_seconds / 6))
        count = max(1, round((dead_link_seconds - idle) / every))
        client = {
            "keepalives": "1",
            "keepalives_idle": str(idle),
            "keepalives_interval": str(every),
            "keepalives_count": str(count),
            "tcp_user_timeout": str(_ms(dead_link_seconds)),
        }
        for key, value in client.items():
            query.setdefault(key, value)
        server += [
            f"tcp_keepalives_idle={idle}",
            f"tcp_keepalives_interval={every}",
            f"tcp_keepalives_count={count}",
            f"tcp_user_timeout={_ms(dead_link_seconds)}",
        ]
    if server:
        theirs = query.get("options", "")
        query["options"] = " ".join([*(f"-c {item}" for item in server), theirs]).strip()
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


@dataclass(frozen=True)
class LoadedConfig:
    settings: Settings
    sources: dict[str, str] = field(default_factory=dict)  # key -> "default" | file | env var


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    section = data.get("conveyor", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: expected a [conveyor] table")
    return section


def config_file_path(env: Mapping[str, str], home: str | Path | None = None) -> Path:
    """The configuration file: ``conveyor.toml`` in the home. The same precedence as the home
    setting itself (override, then a non-empty variable), so the file read is always the one
    in the home that is used."""
    folder = Path(home or env.get(f"{ENV_PREFIX}HOME") or "~/.conveyor")
    return folder.expanduser() / CONFIG_FILE_NAME


def config_file_stamp(env: Mapping[str, str]) -> tuple[str, int | None]:
    """The configuration file's path and modification time (None when there is none): with
    the variables that set a value, the key of a setting cached until either changes (those
    read on every DAG file import or folder scan, where loading the whole configuration would
    cost more than the work)."""
    config_file = config_file_path(env)
    try:
        return str(config_file), config_file.stat().st_mtime_ns
    except OSError:
        return str(config_file), None


def load_config(environ: dict[str, str] | None = None, **overrides: Any) -> LoadedConfig:
    """Build the effective settings; ``overrides`` (from command-line flags) win over all."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    sources = {name: "default" for name in Settings.model_fields}
    config_file = config_file_path(env, overrides.get("home"))
    if config_file.is_file():
        for key, value in _read_file(config_file).items():
            values[key] = value
            sources[key] = str(config_file)
    airflow, ignored = from_airflow(env)
    for name, (value, var) in airflow.items():
        values[name] = value
        sources[name] = f"env {var}"
    warn_ignored(ignored)
    for name in Settings.model_fields:
        var = f"{ENV_PREFIX}{name.upper()}"
        if var in env and env[var] != "":
            values[name] = env[var]
            sources[name] = f"env {var}"
    for name, value in overrides.items():
        if value is not None:
            values[name] = value
            sources[name] = "command line"
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, sources)) from None
    return LoadedConfig(settings=settings.resolved(), sources=sources)


def _describe(exc: ValidationError, sources: dict[str, str]) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        origin = sources.get(key, "")
        where = f" (from {origin})" if origin and origin != "default" else ""
        if not key:  # a rule between settings: its message names them (no values: secrets)
            lines.append(err["msg"].removeprefix("Value error, "))
        elif err["type"] == "extra_forbidden":
            lines.append(f"unknown setting {key!r}{where}")
        else:
            lines.append(f"setting {key!r}{where}: {err['msg']}, got {err.get('input')!r}")
    return "invalid configuration: " + "; ".join(lines)


def mask(key: str, value: Any) -> str:
    """Hide the password in URLs of secret settings."""
    text = "" if value is None else str(value)
    if key == "fernet_key" and text:
        return "***"
    if key in ("secret_key", *AUTH_SECRET_KEYS) and text:
        return "***"
    if key == "secrets_backend_kwargs" and text:
        # A token or an access key given to the backend is shown as *** (Vault's, AWS's).
        kwargs = json.loads(text)
        return json.dumps(
            {k: "***" if _SECRET_KWARG.search(k) else v for k, v in kwargs.items()},
            sort_keys=True,
        )
    if key == "openlineage_transport" and text:
        # The transport's API key or token (its auth table) is shown as ***.
        return json.dumps(_masked_values(json.loads(text)), sort_keys=True)
    if key in SECRET_KEYS and "password=" in text:
        # libpq and Redis also take the password as a query parameter: ?password=...
        text = re.sub(r"(?<=[?&]password=)[^&]*", "***", text)
    if key in SECRET_KEYS and "@" in text and "://" in text:
        scheme, rest = text.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else text
    return text


def _masked_values(value: Any) -> Any:
    """``value`` with every string under a secret-looking key written as ***."""
    if isinstance(value, dict):
        return {
            k: "***" if _SECRET_KWARG.search(k) and isinstance(v, str) else _masked_values(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_masked_values(v) for v in value]
    return value
