"""Airflow's configuration as DAG files read it: ``conf.get("core", "dags_folder")``, the
``airflow.settings`` constants, ``airflow.version``.

An ``AIRFLOW__SECTION__KEY`` variable wins, as in Airflow. Otherwise the keys that name
something Conveyor has (the DAG folder, the executor, the store ...) read Conveyor's own
setting (``SETTINGS`` below; docs/airflow.md lists them); any other key Airflow defines gives
Airflow's default (``airflow_defaults.py``, checked against the released wheel by a test);
a key Airflow does not define, or defines without a default, gives ``fallback=`` when given,
else a ``ConfigError`` (``AirflowConfigException``) that names the key and says how to set
it. Values are read when asked, so a file sees the configuration of the process that
imports it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any

from conveyor.airflow_compat.airflow_defaults import AIRFLOW_DEFAULTS_VERSION, DEFAULTS
from conveyor.airflow_settings import EXECUTORS
from conveyor.config import Settings, load_config
from conveyor.exceptions import ConfigError

__all__ = [
    "AIRFLOW_VERSION",
    "FIXED",
    "SENSITIVE",
    "SETTINGS",
    "AirflowConfig",
    "airflow_options",
    "conf",
]

#: The Airflow release whose surface Conveyor implements: what ``airflow.__version__``,
#: ``airflow.version.version`` and ``/api/v2/version`` say, so libraries that test the
#: version take their Airflow 3 paths (Conveyor takes Airflow 2's names as well).
AIRFLOW_VERSION = AIRFLOW_DEFAULTS_VERSION

_EXECUTORS = {name: airflow for airflow, name in EXECUTORS.items()}

#: (section, key) -> the Conveyor setting it reads. Airflow moved some keys between sections
#: (core -> database, core -> logging); both places read the same setting.
SETTINGS: dict[tuple[str, str], str] = {
    ("core", "dags_folder"): "dags_folder",
    ("core", "plugins_folder"): "plugins_folder",
    ("core", "executor"): "executor",
    ("core", "parallelism"): "parallelism",
    ("core", "dagbag_import_timeout"): "parse_timeout_seconds",
    ("core", "killed_task_cleanup_time"): "kill_grace_seconds",
    ("core", "dags_are_paused_at_creation"): "dags_are_paused_at_creation",
    ("core", "dag_discovery_safe_mode"): "dag_discovery_safe_mode",
    ("core", "allowed_deserialization_classes"): "allowed_deserialization_classes",
    ("core", "allowed_deserialization_classes_regexp"): "allowed_deserialization_classes_regexp",
    ("core", "dag_ignore_file_syntax"): "dag_ignore_file_syntax",
    ("scheduler", "min_file_process_interval"): "min_file_process_interval",
    ("dag_processor", "min_file_process_interval"): "min_file_process_interval",
    ("dag_processor", "print_stats_interval"): "dag_processor_stats_seconds",
    ("scheduler", "max_dagruns_to_create_per_loop"): "max_dagruns_to_create_per_loop",
    ("scheduler", "enable_tracemalloc"): "scheduler_tracemalloc",
    ("scheduler", "max_dagruns_per_loop_to_schedule"): "max_dagruns_per_loop_to_schedule",
    ("core", "sql_alchemy_conn"): "database_url",
    ("database", "sql_alchemy_conn"): "database_url",
    ("core", "base_log_folder"): "log_folder",
    ("logging", "base_log_folder"): "log_folder",
    ("celery", "broker_url"): "broker_url",
    ("kubernetes_executor", "namespace"): "kubernetes_namespace",
    ("kubernetes_executor", "pod_template_file"): "kubernetes_pod_template_file",
    ("kubernetes_executor", "worker_container_repository"): (
        "kubernetes_worker_container_repository"
    ),
    ("kubernetes_executor", "worker_container_tag"): "kubernetes_worker_container_tag",
    ("kubernetes_executor", "delete_worker_pods"): "kubernetes_delete_worker_pods",
    ("kubernetes_executor", "delete_worker_pods_on_failure"): (
        "kubernetes_delete_worker_pods_on_failure"
    ),
    ("kubernetes_executor", "worker_pods_creation_batch_size"): (
        "kubernetes_worker_pods_creation_batch_size"
    ),
    ("kubernetes_executor", "worker_pods_pending_timeout"): (
        "kubernetes_worker_pods_pending_timeout"
    ),
    ("kubernetes_executor", "multi_namespace_mode"): "kubernetes_multi_namespace_mode",
    ("kubernetes_executor", "in_cluster"): "kubernetes_in_cluster",
    ("kubernetes_executor", "config_file"): "kubernetes_config_file",
    ("kubernetes_executor", "cluster_context"): "kubernetes_cluster_context",
    ("celery_kubernetes_executor", "kubernetes_queue"): "celery_kubernetes_queue",
    ("providers.jdbc", "allow_driver_path_in_extra"): "providers_jdbc_allow_driver_path_in_extra",
    ("providers.jdbc", "allow_driver_class_in_extra"): "providers_jdbc_allow_driver_class_in_extra",
    ("api", "base_url"): "web_url",
    ("webserver", "base_url"): "web_url",
    ("api", "worker_timeout"): "web_timeout_seconds",
    ("metrics", "statsd_on"): "statsd_on",
    ("metrics", "legacy_names_on"): "legacy_names_on",
    ("metrics", "statsd_host"): "statsd_host",
    ("metrics", "statsd_port"): "statsd_port",
    ("metrics", "statsd_prefix"): "statsd_prefix",
    ("metrics", "statsd_ipv6"): "statsd_ipv6",
    ("metrics", "statsd_datadog_enabled"): "statsd_datadog_enabled",
    ("metrics", "statsd_datadog_tags"): "statsd_datadog_tags",
    ("metrics", "statsd_datadog_metrics_tags"): "statsd_datadog_metrics_tags",
    ("metrics", "statsd_disabled_tags"): "statsd_disabled_tags",
    ("metrics", "metrics_allow_list"): "metrics_allow_list",
    ("metrics", "metrics_block_list"): "metrics_block_list",
    ("metrics", "otel_on"): "otel_on",
    ("metrics", "otel_host"): "otel_host",
    ("metrics", "otel_port"): "otel_port",
    ("metrics", "otel_prefix"): "otel_prefix",
    ("metrics", "otel_interval_milliseconds"): "otel_interval_milliseconds",
    ("metrics", "otel_ssl_active"): "otel_ssl_active",
    ("metrics", "otel_service"): "otel_service",
    ("metrics", "otel_debugging_on"): "otel_debugging_on",
    ("traces", "otel_on"): "traces_otel_on",
    ("traces", "otel_host"): "traces_otel_host",
    ("traces", "otel_port"): "traces_otel_port",
    ("traces", "otel_ssl_active"): "traces_otel_ssl_active",
    ("traces", "otel_service"): "traces_otel_service",
    ("traces", "otel_debugging_on"): "traces_otel_debugging_on",
    ("traces", "task_runner_flush_timeout_milliseconds"): (
        "traces_task_runner_flush_timeout_milliseconds"
    ),
    ("secrets", "backend"): "secrets_backend",
    ("secrets", "backend_kwargs"): "secrets_backend_kwargs",
    ("secrets", "use_cache"): "secrets_use_cache",
    ("secrets", "cache_ttl_seconds"): "secrets_cache_ttl_seconds",
    ("openlineage", "disabled"): "openlineage_disabled",
    ("openlineage", "transport"): "openlineage_transport",
    ("openlineage", "config_path"): "openlineage_config_path",
    ("openlineage", "namespace"): "openlineage_namespace",
    ("openlineage", "disabled_for_operators"): "openlineage_disabled_for_operators",
    ("openlineage", "selective_enable"): "openlineage_selective_enable",
    ("openlineage", "disable_source_code"): "openlineage_disable_source_code",
    ("openlineage", "execution_timeout"): "openlineage_execution_timeout",
}
#: (section, key) -> what it always is here, and why.
FIXED: dict[tuple[str, str], tuple[str, str]] = {
    ("core", "default_timezone"): ("utc", "Conveyor's times are UTC"),
    ("core", "load_examples"): ("False", "Conveyor loads no example DAGs"),
}

#: The keys above whose values Airflow treats as secret (``sensitive`` in its config.yml,
#: and the Celery broker's URL, which carries its password).
SENSITIVE: frozenset[tuple[str, str]] = frozenset(
    {
        ("core", "sql_alchemy_conn"),
        ("database", "sql_alchemy_conn"),
        ("celery", "broker_url"),
        ("secrets", "backend_kwargs"),
        ("openlineage", "transport"),
    }
)


def airflow_options(settings: Settings) -> list[tuple[str, str, str]]:
    """(section, key, value) of every Airflow key that reads ``settings`` or is fixed here,
    sorted, values as text: the configuration as Airflow's names spell it, without the
    ``AIRFLOW__*`` variables of any one process."""
    found = {key: _text(_setting(name, settings)) for key, name in SETTINGS.items()}
    found.update({key: value for key, (value, _why) in FIXED.items()})
    return [(section, key, value) for (section, key), value in sorted(found.items())]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _setting(name: str, settings: Settings) -> Any:
    value = getattr(settings, name)
    if name == "executor":
        return _EXECUTORS[value]  # Airflow's class name for it
    if name == "web_url":
        return settings.public_web_url  # its default follows base_url
    if name == "secrets_backend":
        return value or ""  # Airflow's default: no backend
    return str(value) if isinstance(value, os.PathLike) else value


_TRUE = {"true", "t", "1", "yes", "y", "on"}
_FALSE = {"false", "f", "0", "no", "n", "off"}
_MISSING: Any = object()


def _settings() -> Settings:
    return load_config().settings


def airflow_home() -> str:
    """``AIRFLOW_HOME`` when set, else Conveyor's home (where its DAG folder is by default)."""
    return os.environ.get("AIRFLOW_HOME") or str(_settings().home)


def _variable(section: str, key: str) -> str:
    """Airflow's variable for a key: a section's dots become underscores
    (``[providers.jdbc]`` is ``AIRFLOW__PROVIDERS_JDBC__...``)."""
    return f"AIRFLOW__{section.replace('.', '_').upper()}__{key.upper()}"


def _expand(default: str) -> str:
    """An Airflow default as Airflow reads it: ``%%`` is ``%``; ``{AIRFLOW_HOME}`` is the
    home, and a generated secret (``{FERNET_KEY}``) is empty (no Airflow install made one)."""
    if "{" in default:
        values = {"AIRFLOW_HOME": airflow_home(), "FERNET_KEY": "", "SECRET_KEY": ""}
        # A template of Airflow's own (``{{ ti.dag_id }}``) fails to format: kept as written.
        with contextlib.suppress(KeyError, IndexError, ValueError):
            default = default.format(JWT_SECRET_KEY="", **values)
    return default.replace("%%", "%")


class AirflowConfig:
    """``airflow.configuration.conf``: Airflow's getters over Conveyor's settings."""

    def _find(self, section: str, key: str) -> Any:
        section, key = section.lower(), key.lower()
        variable = _variable(section, key)
        if variable in os.environ:
            return os.environ[variable]
        if (section, key) in FIXED:
            return FIXED[(section, key)][0]
        name = SETTINGS.get((section, key))
        if name is not None:
            return _setting(name, _settings())
        default = DEFAULTS.get((section, key))
        return _MISSING if default is None else _expand(default)

    def has_option(self, section: str, key: str) -> bool:
        return self._find(section, key) is not _MISSING

    def get(self, section: str, key: str, fallback: Any = _MISSING, **_: Any) -> Any:
        """The value as text (Airflow's ``get``); ``fallback`` when Conveyor has no such key."""
        value = self._find(section, key)
        if value is _MISSING:
            if fallback is not _MISSING:
                return fallback
            raise ConfigError(
                f"Airflow setting [{section}] {key} has no Conveyor equivalent: give "
                f"fallback=, or set {_variable(section, key)} "
                "(Airflow settings Conveyor reads: docs/airflow.md)"
            )
        return value if isinstance(value, str) else str(value)

    def getboolean(self, section: str, key: str, fallback: Any = _MISSING, **_: Any) -> bool:
        text = self.get(section, key, fallback=fallback)
        if isinstance(text, bool):
            return text
        lowered = str(text).strip().lower()
        if lowered in _TRUE | _FALSE:
            return lowered in _TRUE
        raise ConfigError(f"Airflow setting [{section}] {key}: {text!r} is not true or false")

    def getint(self, section: str, key: str, fallback: Any = _MISSING, **_: Any) -> int:
        return int(self._number(section, key, fallback, int))

    def getfloat(self, section: str, key: str, fallback: Any = _MISSING, **_: Any) -> float:
        return float(self._number(section, key, fallback, float))

    def _number(self, section: str, key: str, fallback: Any, kind: type) -> Any:
        text = self.get(section, key, fallback=fallback)
        try:
            return kind(float(text)) if kind is int and "." in str(text) else kind(text)
        except (TypeError, ValueError):
            raise ConfigError(
                f"Airflow setting [{section}] {key}: {text!r} is not a {kind.__name__}"
            ) from None


conf = AirflowConfig()


def __getattr__(name: str) -> Any:
    """The ``airflow.settings`` / ``airflow.configuration`` constants, read when asked."""
    values: dict[str, Callable[[], Any]] = {
        "AIRFLOW_HOME": airflow_home,
        "DAGS_FOLDER": lambda: str(_settings().dags_path),
        "PLUGINS_FOLDER": lambda: str(_settings().plugins_path),
        "SQL_ALCHEMY_CONN": lambda: _settings().db_url,
    }
    if name in values:
        return values[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
