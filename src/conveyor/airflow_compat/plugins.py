"""``airflow.plugins_manager.AirflowPlugin``, for the modules that declare one.

Airflow finds a user's timetable classes through a plugin. Conveyor imports a timetable's
class by its module instead (see docs/airflow.md), so a plugin class is only a place to
list them: a module that declares one imports, and the declaration changes nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AirflowPlugin:
    """Accepted and ignored: Conveyor needs no plugin to find a timetable class."""

    name: ClassVar[str] = ""
    timetables: ClassVar[list[Any]] = []
