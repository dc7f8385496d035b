"""Ships ``conveyor_airflow.pth`` and its module at the top of site-packages, in the wheel
and in the editable install (``pip install -e .``), so ``import airflow`` finds Conveyor's
names in any Python process of the environment (src/_conveyor_airflow.py)."""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

_STARTUP = {
    "src/conveyor_airflow.pth": "conveyor_airflow.pth",
    "src/_conveyor_airflow.py": "_conveyor_airflow.py",
}


class AirflowStartupHook(BuildHookInterface):  # type: ignore[misc]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            # The editable install puts src/ on sys.path: only the .pth is copied.
            build_data["force_include_editable"]["src/conveyor_airflow.pth"] = (
                "conveyor_airflow.pth"
            )
        else:
            build_data["force_include"].update(_STARTUP)
