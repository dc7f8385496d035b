"""What a task read and wrote, as its operator says: Airflow's
``get_openlineage_facets_on_start()``, ``get_openlineage_facets_on_complete(task_instance)``
and ``get_openlineage_facets_on_failure(task_instance)`` (a missing one falls back to the
one before it, as Airflow's default extractor does). An operator that says nothing gives
its inlets and outlets that are assets, as datasets (``scheme://authority/path`` ->
namespace ``scheme://authority``, name ``path``). A method that raises is logged; the event
goes without its datasets.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from conveyor.providers.openlineage.operator_lineage import OperatorLineage

#: An operator's method failing is the user's code failing: not under ``conveyor.``, so the
#: try's log shows it (the runner keeps Conveyor's own records in the process log).
operator_log = logging.getLogger("airflow.providers.openlineage")

START = "start"
COMPLETE = "complete"
FAIL = "fail"

#: Each moment's method, then those it falls back to.
_METHODS = {
    START: ("get_openlineage_facets_on_start",),
    COMPLETE: ("get_openlineage_facets_on_complete", "get_openlineage_facets_on_start"),
    FAIL: (
        "get_openlineage_facets_on_failure",
        "get_openlineage_facets_on_complete",
        "get_openlineage_facets_on_start",
    ),
}


def lineage_of(task: Any, moment: str, task_instance: Any) -> OperatorLineage:
    found = _from_operator(task, moment, task_instance)
    if found is None:
        found = OperatorLineage()
    if not found.inputs and not found.outputs:
        found.inputs = _datasets(getattr(task, "inlets", None))
        found.outputs = _datasets(getattr(task, "outlets", None))
    return found


def _from_operator(task: Any, moment: str, task_instance: Any) -> OperatorLineage | None:
    for name in _METHODS[moment]:
        method = getattr(task, name, None)
        if not callable(method):
            continue
        try:
            found = method() if name.endswith("_on_start") else method(task_instance)
        except Exception as exc:
            operator_log.warning(
                "OpenLineage: %s of task %r failed, its datasets are left out: %s",
                name,
                getattr(task, "task_id", "?"),
                exc,
            )
            return None
        return None if found is None else OperatorLineage.of(found)
    return None


def _datasets(assets: Any) -> list[Any]:
    from openlineage.client.event_v2 import Dataset

    found = []
    for asset in assets or []:
        uri = getattr(asset, "uri", None)
        if not isinstance(uri, str) or "://" not in uri:
            continue
        parts = urlsplit(uri)
        found.append(
            Dataset(
                namespace=f"{parts.scheme}://{parts.netloc}", name=parts.path.lstrip("/") or "/"
            )
        )
    return found
