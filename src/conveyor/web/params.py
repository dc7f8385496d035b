"""Checking a run's ``conf`` against the DAG's params before the run is made.

A DAG's params are ``{name: default}``; the default's JSON type is the type a conf value
must have (an integer is fine where a number is expected; a default of null takes
anything). When a DAG declares params, a conf key it does not declare is refused: it is
most likely a typo, and silently ignoring it would run the DAG with the default.
"""

from __future__ import annotations

from typing import Any

from conveyor.web.queries import json_type


def conf_errors(dag_id: str, params: dict[str, Any], conf: dict[str, Any]) -> list[str]:
    """Every problem with ``conf``, each naming the param; empty when it is valid."""
    errors: list[str] = []
    for name, value in conf.items():
        if name not in params:
            if params:
                known = ", ".join(sorted(params))
                errors.append(
                    f"conf.{name}: DAG {dag_id!r} has no param {name!r} (params: {known})"
                )
            continue
        expected = json_type(params[name])
        if expected is None:
            continue
        got = json_type(value)
        if got == expected or (expected == "number" and got == "integer"):
            continue
        errors.append(
            f"conf.{name}: param {name!r} expects {expected} "
            f"(like its default {params[name]!r}), got {got or 'null'} {value!r}"[:500]
        )
    return errors
