"""Airflow's small helpers that libraries built on Airflow call (dag-factory, astronomer-cosmos).

Each behaves as Airflow's does for the inputs those libraries give it: ``import_string`` finds
an operator or a callable by its dotted path, ``context_merge`` adds names to a running task's
context, ``context_to_airflow_vars`` gives the ``AIRFLOW_CTX_*`` variables a subprocess (dbt)
is started with.
"""

from __future__ import annotations

import importlib
import secrets
import string
from typing import Any

#: The queue a task is sent to unless it names one.
DEFAULT_QUEUE = "default"


def import_string(dotted_path: str) -> Any:
    """The attribute ``module.path.Name`` names, imported; ``ImportError`` saying which part
    is missing when it cannot be found."""
    try:
        module_path, attribute = dotted_path.rsplit(".", 1)
    except (ValueError, AttributeError):
        raise ImportError(f"{dotted_path!r} does not look like a module path") from None
    module = importlib.import_module(module_path)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ImportError(
            f"module {module_path!r} does not define a {attribute!r} attribute/class"
        ) from None


def qualname(value: Any) -> str:
    """``module.Name`` of a class, function or instance (of its class)."""
    target = value if callable(value) and hasattr(value, "__qualname__") else type(value)
    return f"{target.__module__}.{target.__qualname__}"


def get_random_string(length: int = 8, choices: str = string.ascii_letters + string.digits) -> str:
    """Random text of ``length`` characters drawn from ``choices``."""
    return "".join(secrets.choice(choices) for _ in range(length))


def context_merge(context: dict[str, Any], *args: Any, **kwargs: Any) -> None:
    """Add names to a task's context in place: mappings given, then keywords (later wins)."""
    for mapping in args:
        context.update(mapping)
    context.update(kwargs)
