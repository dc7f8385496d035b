"""Targets of the compatibility table written once per module: most names Airflow exports
stand for a Conveyor object of the same name, so the table names the module and the names.
The providers write their rows with the same helper (``providers/declaration.py``)."""

from __future__ import annotations

from conveyor.providers.declaration import same_names

__all__ = ["same_names"]
