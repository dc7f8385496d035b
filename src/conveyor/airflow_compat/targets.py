"""Targets of the compatibility table written once per module: most names Airflow exports
stand for a Conveyor object of the same name, so the table names the module and the names."""

from __future__ import annotations


def same_names(module: str, *names: str) -> dict[str, str]:
    """``{name: "module:name"}``: each name is the attribute of that name in ``module``."""
    return {name: f"{module}:{name}" for name in names}
