"""The OpenLineage settings of a process, read once at its start: Airflow's ``[openlineage]``
keys, each from ``AIRFLOW__OPENLINEAGE__<KEY>`` when set (as Airflow reads them), else from
Conveyor's setting of the same meaning (``openlineage_<key>``), then the OpenLineage client's
own variables where Airflow reads them (``OPENLINEAGE_NAMESPACE``, ``OPENLINEAGE_CONFIG``,
``OPENLINEAGE_DISABLED``, ``OPENLINEAGE_AIRFLOW_DISABLE_SOURCE_CODE``, ``OPENLINEAGE_URL``,
``OPENLINEAGE__TRANSPORT__*``).

As in Airflow, lineage is on when something says where events go (a transport, a
configuration file, ``OPENLINEAGE_URL`` or ``OPENLINEAGE__TRANSPORT__*``) and nothing
disables it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from typing import Any

from conveyor.config import Settings
from conveyor.exceptions import ConfigError

_TRUE = ("true", "1", "t", "yes", "y", "on")


@dataclasses.dataclass(frozen=True)
class LineageSettings:
    enabled: bool
    transport: dict[str, Any]
    config_path: str
    namespace: str
    disabled_for_operators: frozenset[str]
    selective_enable: bool
    source_code: bool
    execution_timeout: float
    queue_size: int


def _pick(environ: Mapping[str, str], key: str, setting: Any) -> Any:
    """Airflow's variable for ``[openlineage] key`` when set, else Conveyor's setting."""
    found = environ.get(f"AIRFLOW__OPENLINEAGE__{key.upper()}")
    return setting if found is None else found


def _truth(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in _TRUE


def _transport(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    text = str(value or "").strip()
    if not text:
        return {}
    try:
        found = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"[openlineage] transport is not JSON: {exc}") from None
    if not isinstance(found, dict):
        raise ConfigError(f"[openlineage] transport {text!r} is not a JSON object")
    return found


def read(settings: Settings, environ: Mapping[str, str] | None = None) -> LineageSettings:
    env = os.environ if environ is None else environ
    transport = _transport(_pick(env, "transport", settings.openlineage_transport))
    config_path = str(_pick(env, "config_path", settings.openlineage_config_path) or "")
    config_path = config_path or env.get("OPENLINEAGE_CONFIG", "")
    namespace = str(_pick(env, "namespace", settings.openlineage_namespace) or "")
    disabled = _truth(_pick(env, "disabled", settings.openlineage_disabled)) or _truth(
        env.get("OPENLINEAGE_DISABLED", "")
    )
    told_where = bool(
        transport
        or config_path
        or env.get("OPENLINEAGE_URL")
        or any(k.startswith("OPENLINEAGE__TRANSPORT") and v for k, v in env.items())
    )
    operators = str(
        _pick(env, "disabled_for_operators", settings.openlineage_disabled_for_operators) or ""
    )
    return LineageSettings(
        enabled=told_where and not disabled,
        transport=transport,
        config_path=config_path,
        namespace=namespace or env.get("OPENLINEAGE_NAMESPACE", "") or "default",
        disabled_for_operators=frozenset(p.strip() for p in operators.split(";") if p.strip()),
        selective_enable=_truth(
            _pick(env, "selective_enable", settings.openlineage_selective_enable)
        ),
        source_code=not (
            _truth(_pick(env, "disable_source_code", settings.openlineage_disable_source_code))
            or _truth(env.get("OPENLINEAGE_AIRFLOW_DISABLE_SOURCE_CODE", ""))
        ),
        execution_timeout=float(
            _pick(env, "execution_timeout", settings.openlineage_execution_timeout)
        ),
        queue_size=settings.openlineage_queue_size,
    )


def client_config(lineage: LineageSettings) -> dict[str, Any] | None:
    """The OpenLineage client's configuration: the transport given, else the YAML file's,
    else None (the client reads its own variables: ``OPENLINEAGE_URL`` ...)."""
    if lineage.transport:
        return {"transport": lineage.transport}
    if lineage.config_path:
        import yaml

        with open(lineage.config_path) as handle:
            found = yaml.safe_load(handle)
        return found if isinstance(found, dict) else None
    return None
