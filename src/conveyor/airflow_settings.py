"""Airflow's ``AIRFLOW__SECTION__KEY`` variables for the settings Conveyor shares with it.

A deployment moved from Airflow keeps its environment: where Conveyor has the same setting
with the same meaning, Airflow's variable sets it (a ``CONVEYOR_*`` variable of the same
setting wins). Every other variable of Airflow's own sections that is set is named in one
warning when the configuration is first read, so nothing Airflow would have done with it
passes silently (a team's own sections are read by DAG code through ``conf``).
``sql_alchemy_conn`` is one of those: it names Airflow's own database, which Conveyor's store
must not share (``CONVEYOR_DATABASE_URL`` sets the store).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

log = logging.getLogger("conveyor.config")

PREFIX = "AIRFLOW__"

#: Airflow's variable -> Conveyor's setting of the same meaning (Airflow 2's and 3's sections).
SAME_SETTING: dict[str, str] = {
    "AIRFLOW__CORE__DAGS_FOLDER": "dags_folder",
    "AIRFLOW__CORE__PLUGINS_FOLDER": "plugins_folder",
    "AIRFLOW__CORE__PARALLELISM": "parallelism",
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "dags_are_paused_at_creation",
    "AIRFLOW__CORE__DAG_DISCOVERY_SAFE_MODE": "dag_discovery_safe_mode",
    "AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX": "dag_ignore_file_syntax",
    "AIRFLOW__CORE__FERNET_KEY": "fernet_key",
    "AIRFLOW__CORE__EXECUTOR": "executor",
    "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "parse_timeout_seconds",
    "AIRFLOW__CORE__DAG_FILE_PROCESSOR_TIMEOUT": "parse_timeout_seconds",
    "AIRFLOW__CORE__KILLED_TASK_CLEANUP_TIME": "kill_grace_seconds",
    "AIRFLOW__DAG_PROCESSOR__DAG_FILE_PROCESSOR_TIMEOUT": "parse_timeout_seconds",
    "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "min_file_process_interval",
    "AIRFLOW__SCHEDULER__ENABLE_TRACEMALLOC": "scheduler_tracemalloc",
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "min_file_process_interval",
    "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "dag_processor_stats_seconds",
    "AIRFLOW__SCHEDULER__PARSING_PROCESSES": "dag_parse_processes",
    "AIRFLOW__SCHEDULER__MAX_DAGRUNS_TO_CREATE_PER_LOOP": "max_dagruns_to_create_per_loop",
    "AIRFLOW__SCHEDULER__MAX_DAGRUNS_PER_LOOP_TO_SCHEDULE": "max_dagruns_per_loop_to_schedule",
    "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "dag_parse_processes",
    "AIRFLOW__LOGGING__BASE_LOG_FOLDER": "log_folder",
    "AIRFLOW__CELERY__BROKER_URL": "broker_url",
    "AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE": "kubernetes_namespace",
    "AIRFLOW__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE": "kubernetes_pod_template_file",
    "AIRFLOW__KUBERNETES_EXECUTOR__WORKER_CONTAINER_REPOSITORY": (
        "kubernetes_worker_container_repository"
    ),
    "AIRFLOW__KUBERNETES_EXECUTOR__WORKER_CONTAINER_TAG": "kubernetes_worker_container_tag",
    "AIRFLOW__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS": "kubernetes_delete_worker_pods",
    "AIRFLOW__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS_ON_FAILURE": (
        "kubernetes_delete_worker_pods_on_failure"
    ),
    "AIRFLOW__KUBERNETES_EXECUTOR__WORKER_PODS_CREATION_BATCH_SIZE": (
        "kubernetes_worker_pods_creation_batch_size"
    ),
    "AIRFLOW__KUBERNETES_EXECUTOR__WORKER_PODS_PENDING_TIMEOUT": (
        "kubernetes_worker_pods_pending_timeout"
    ),
    "AIRFLOW__KUBERNETES_EXECUTOR__MULTI_NAMESPACE_MODE": "kubernetes_multi_namespace_mode",
    "AIRFLOW__KUBERNETES_EXECUTOR__IN_CLUSTER": "kubernetes_in_cluster",
    "AIRFLOW__KUBERNETES_EXECUTOR__CONFIG_FILE": "kubernetes_config_file",
    "AIRFLOW__KUBERNETES_EXECUTOR__CLUSTER_CONTEXT": "kubernetes_cluster_context",
    "AIRFLOW__CELERY_KUBERNETES_EXECUTOR__KUBERNETES_QUEUE": "celery_kubernetes_queue",
    "AIRFLOW__WEBSERVER__SECRET_KEY": "secret_key",
    "AIRFLOW__API__SECRET_KEY": "secret_key",
    "AIRFLOW__WEBSERVER__BASE_URL": "base_url",
    "AIRFLOW__API__BASE_URL": "base_url",
    "AIRFLOW__METRICS__STATSD_ON": "statsd_on",
    "AIRFLOW__METRICS__LEGACY_NAMES_ON": "legacy_names_on",
    "AIRFLOW__METRICS__STATSD_HOST": "statsd_host",
    "AIRFLOW__METRICS__STATSD_PORT": "statsd_port",
    "AIRFLOW__METRICS__STATSD_PREFIX": "statsd_prefix",
    "AIRFLOW__METRICS__STATSD_IPV6": "statsd_ipv6",
    "AIRFLOW__METRICS__STATSD_DATADOG_ENABLED": "statsd_datadog_enabled",
    "AIRFLOW__METRICS__STATSD_DATADOG_TAGS": "statsd_datadog_tags",
    "AIRFLOW__METRICS__STATSD_DATADOG_METRICS_TAGS": "statsd_datadog_metrics_tags",
    "AIRFLOW__METRICS__STATSD_DISABLED_TAGS": "statsd_disabled_tags",
    "AIRFLOW__METRICS__METRICS_ALLOW_LIST": "metrics_allow_list",
    "AIRFLOW__METRICS__METRICS_BLOCK_LIST": "metrics_block_list",
    "AIRFLOW__METRICS__OTEL_ON": "otel_on",
    "AIRFLOW__METRICS__OTEL_HOST": "otel_host",
    "AIRFLOW__METRICS__OTEL_PORT": "otel_port",
    "AIRFLOW__METRICS__OTEL_PREFIX": "otel_prefix",
    "AIRFLOW__METRICS__OTEL_INTERVAL_MILLISECONDS": "otel_interval_milliseconds",
    "AIRFLOW__METRICS__OTEL_SSL_ACTIVE": "otel_ssl_active",
    "AIRFLOW__METRICS__OTEL_SERVICE": "otel_service",
    "AIRFLOW__METRICS__OTEL_DEBUGGING_ON": "otel_debugging_on",
    "AIRFLOW__TRACES__OTEL_ON": "traces_otel_on",
    "AIRFLOW__TRACES__OTEL_HOST": "traces_otel_host",
    "AIRFLOW__TRACES__OTEL_PORT": "traces_otel_port",
    "AIRFLOW__TRACES__OTEL_SSL_ACTIVE": "traces_otel_ssl_active",
    "AIRFLOW__TRACES__OTEL_SERVICE": "traces_otel_service",
    "AIRFLOW__TRACES__OTEL_DEBUGGING_ON": "traces_otel_debugging_on",
    "AIRFLOW__TRACES__TASK_RUNNER_FLUSH_TIMEOUT_MILLISECONDS": (
        "traces_task_runner_flush_timeout_milliseconds"
    ),
    "AIRFLOW__API__WORKER_TIMEOUT": "web_timeout_seconds",
    "AIRFLOW__SECRETS__BACKEND": "secrets_backend",
    "AIRFLOW__SECRETS__BACKEND_KWARGS": "secrets_backend_kwargs",
    "AIRFLOW__SECRETS__USE_CACHE": "secrets_use_cache",
    "AIRFLOW__SECRETS__CACHE_TTL_SECONDS": "secrets_cache_ttl_seconds",
}

#: Airflow's own sections (Airflow 2's and 3's, and its executors'): a variable of one of them
#: Conveyor does not map is warned about. Other sections are a team's own (or a provider's),
#: read by DAG code through ``airflow.configuration.conf``, which honours them.
AIRFLOW_SECTIONS = frozenset(
    {
        "CORE", "DATABASE", "LOGGING", "METRICS", "TRACES", "SECRETS", "CLI", "DEBUG", "API",
        "WORKERS", "SDK", "API_AUTH", "EXECUTION_API", "LINEAGE", "OPERATORS", "EMAIL", "SMTP",
        "SENTRY", "SCHEDULER", "CONNECTION_TEST", "TRIGGERER", "KERBEROS", "SENSORS",
        "DAG_PROCESSOR", "STATE_STORE", "PROFILING", "CALLBACKS", "WEBSERVER", "CELERY",
        "CELERY_BROKER_TRANSPORT_OPTIONS", "CELERY_KUBERNETES_EXECUTOR", "KUBERNETES_EXECUTOR",
        "LOCAL_KUBERNETES_EXECUTOR",
    }
)  # fmt: skip

#: Read elsewhere by Conveyor (the e-mail sender's default address).
READ_ELSEWHERE = frozenset({"AIRFLOW__SMTP__SMTP_MAIL_FROM"})

#: Variables whose empty value is a value (no prefix: the metric names bare, as StatsD
#: collectors that add their own ask for), not an unset variable.
EMPTY_IS_A_VALUE = frozenset({"AIRFLOW__METRICS__STATSD_PREFIX", "AIRFLOW__METRICS__OTEL_PREFIX"})

#: Airflow's executor names -> Conveyor's; any other is not honoured.
EXECUTORS = {
    "LocalExecutor": "local",
    "CeleryExecutor": "celery",
    "KubernetesExecutor": "kubernetes",
    "CeleryKubernetesExecutor": "celery_kubernetes",
    # Airflow 3's several executors: the first takes every task that names none.
    "CeleryExecutor,KubernetesExecutor": "celery_kubernetes",
}

_warned: set[str] = set()


def from_airflow(env: Mapping[str, str]) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """The settings Airflow's variables in ``env`` give (setting -> (value, variable)), and
    the variables of Airflow's own sections set that Conveyor does not honour, sorted."""
    found: dict[str, tuple[str, str]] = {}
    ignored: list[str] = []
    for var in sorted(env):
        if not var.startswith(PREFIX) or (env[var] == "" and var not in EMPTY_IS_A_VALUE):
            continue
        setting = SAME_SETTING.get(var)
        value = env[var]
        if setting == "executor":
            value = EXECUTORS.get(value.replace(" ", ""), "")
            setting = setting if value else None
        if setting is None:
            section = var[len(PREFIX) :].split("__", 1)[0]
            if section in AIRFLOW_SECTIONS and var not in READ_ELSEWHERE:
                ignored.append(var)
        elif setting not in found:  # both sections set: the first by name
            found[setting] = (value, var)
    return found, ignored


def warn_ignored(ignored: list[str]) -> None:
    """One warning per process naming the ``AIRFLOW__*`` variables Conveyor does not honour."""
    new = [var for var in ignored if var not in _warned]
    if not new:
        return
    _warned.update(new)
    log.warning(
        "these Airflow settings are set in the environment and Conveyor does not honour them: "
        "%s. Conveyor reads AIRFLOW__* only for %s (CONVEYOR_* wins); see `conveyor config "
        "show` for its own settings",
        ", ".join(new),
        ", ".join(sorted(SAME_SETTING)),
    )
