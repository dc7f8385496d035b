"""The template fields of a try as it rendered them, kept for the task instance page.

The web process never imports a DAG file, so it cannot render templates on demand: the
worker keeps what it rendered, with the secrets the try read masked as in its log.
"""

from __future__ import annotations

import math
from typing import Any

import jinja2

from conveyor.connections import masking
from conveyor.model.templating import render_template

#: The longest text kept per field; a longer one is cut and says so.
MAX_TEXT = 64 << 10


def _plain(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON: text, numbers, lists and objects as they are, anything else as
    its ``repr``."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            return value[:MAX_TEXT] + f"\n… ({len(value) - MAX_TEXT} more characters)"
        return value
    if depth < 20 and isinstance(value, list | tuple | set | frozenset):
        return [_plain(v, depth + 1) for v in value]
    if depth < 20 and isinstance(value, dict):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    return _plain(repr(value), depth)


def rendered_fields(task: Any) -> dict[str, Any]:
    """Each of the task's ``template_fields`` as it is now (after rendering), masked."""
    fields = {name: _plain(getattr(task, name, None)) for name in task.template_fields}
    masked: dict[str, Any] = masking.redact_value(fields)
    return masked


def render_map_index(task: Any, context: dict[str, Any], *, quiet: bool = False) -> str | None:
    """The task's ``map_index_template`` rendered with the try's ``context`` (as it stands
    at the end of ``execute``, which may have added to it), masked; None without one. As
    Airflow: a template error fails a try that succeeded, and is passed over (``quiet``)
    for one that failed, not to hide its own error."""
    template = getattr(task, "map_index_template", None)
    if not template:
        return None
    try:
        found = str(render_template(task, template, context))
    except (jinja2.TemplateError, ValueError):
        if quiet:
            return None
        raise
    label: str = masking.redact_value(_plain(found))
    return label
