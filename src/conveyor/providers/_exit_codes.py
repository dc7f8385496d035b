"""``skip_on_exit_code``: the exit statuses that skip a try rather than fail it.

The SSH, Docker and Kubernetes operators take it as Airflow's do: one status, a collection
of them, or None for none.
"""

from __future__ import annotations

from collections.abc import Container


def skip_codes(given: int | Container[int] | None) -> Container[int]:
    """``given`` as a collection that ``in`` asks."""
    if given is None:
        return ()
    if isinstance(given, int):
        return (given,)
    return given
