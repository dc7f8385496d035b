"""What a task read and wrote, as its operator says: Airflow's
``get_openlineage_facets_on_start()``, ``get_openlineage_facets_on_complete(task_instance)``
and ``get_openlineage_facets_on_failure(task_instance)`` (a missing one falls back to the
one before it, as Airflow's default extractor does). An operator that says nothing gives
the SQL its hooks ran (a ``PostgresHook`` called from a ``@task``: Airflow 3's hook
lineage), else its inlets and outlets that are assets, as datasets
(``scheme://authority/path`` -> namespace ``scheme://authority``, name ``path``). A method
that raises is logged; the event goes without its datasets.
"""

from __future__ import annotations

import functools
import inspect
import logging
from types import CodeType
from typing import Any
from urllib.parse import urlsplit

from conveyor.providers.openlineage import hook_lineage
from conveyor.providers.openlineage.operator_lineage import OperatorLineage
from conveyor.providers.openlineage.sql import lineage_of_sql

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


def lineage_of(
    task: Any, moment: str, task_instance: Any, source_code: bool = True
) -> OperatorLineage:
    """What the task read and wrote: its operator's word, else (at its end) the SQL its
    hooks ran, else its asset inlets and outlets; with ``source_code``, a Python or Bash
    task that says nothing has its code as the ``sourceCode`` job facet. At the start, the
    try's hooks' SQL begins to be collected."""
    found = _from_operator(task, moment, task_instance)
    if found is None and source_code:
        found = _source_code(task)
    if moment == START:
        hook_lineage.collect()
    else:
        calls = hook_lineage.take()
        if calls and (found is None or not (found.inputs or found.outputs)):
            from_hooks = _from_hooks(calls)
            if from_hooks is not None:
                found = from_hooks if found is None else found.merge(from_hooks)
    if found is None:
        found = OperatorLineage()
    if not found.inputs and not found.outputs:
        found.inputs = _datasets(getattr(task, "inlets", None))
        found.outputs = _datasets(getattr(task, "outlets", None))
    return found


def _source_of(callable_: Any) -> str | None:
    try:
        return inspect.getsource(callable_)
    except (OSError, TypeError):  # made at run time, or a builtin: no source to send
        return None


@functools.lru_cache(maxsize=512)
def _python_source_facet(code: CodeType) -> Any:
    """A function's ``sourceCode`` facet, made once a process for the same code: each try's
    START and end event send it, and ``inspect`` reads and tokenizes its file each time
    (about a millisecond a read), the facet's own checks parse URLs. Equal code objects (the
    same function of a DAG file imported again) have the same source. The events share it: only
    the masking of a secret changes it, which every later event would mask too."""
    return _source_facet(_source_of(code), "python")


def _source_facet(text: str | None, language: str) -> Any:
    """The ``sourceCode`` facet of ``text``; None when there is no text to send."""
    if text is None:
        return None
    from openlineage.client.facet_v2 import source_code_job

    return source_code_job.SourceCodeJobFacet(language=language, sourceCode=text)


def _source_code(task: Any) -> OperatorLineage | None:
    """A Python task's function or a Bash task's command, as Airflow's Python and Bash
    extractors send them."""
    callable_ = getattr(task, "python_callable", None)
    command = getattr(task, "bash_command", None)
    if callable(callable_):
        # As inspect reads a function: its decorators' wrapped function, then its code.
        code = getattr(inspect.unwrap(callable_), "__code__", None)
        if code is not None:
            facet = _python_source_facet(code)
        else:
            facet = _source_facet(_source_of(callable_), "python")
    elif isinstance(command, str) and command:
        facet = _source_facet(command, "bash")
    else:
        return None
    return None if facet is None else OperatorLineage(job_facets={"sourceCode": facet})


def _from_hooks(calls: list[tuple[Any, Any]]) -> OperatorLineage | None:
    """The datasets of the SQL the try's hooks ran (each table once), and the statements as
    one ``sql`` job facet."""
    merged: OperatorLineage | None = None
    queries: list[str] = []
    for hook, sql in calls:
        try:
            found = lineage_of_sql(hook, sql, use_connection=False)
        except Exception as exc:
            operator_log.warning("OpenLineage: the SQL a hook ran was not parsed: %s", exc)
            continue
        if found is None:
            continue
        sql_facet = found.job_facets.pop("sql", None)
        if sql_facet is not None:
            queries.append(sql_facet.query)
        merged = found if merged is None else merged.merge(found)
    if merged is None:
        return None
    merged.inputs = _once(merged.inputs)
    merged.outputs = _once(merged.outputs)
    if queries:
        from openlineage.client.facet_v2 import sql_job

        merged.job_facets["sql"] = sql_job.SQLJobFacet(query=";\n".join(queries))
    return merged


def _once(datasets: list[Any]) -> list[Any]:
    seen: dict[tuple[str, str], Any] = {}
    for dataset in datasets:
        seen.setdefault((dataset.namespace, dataset.name), dataset)
    return list(seen.values())


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
