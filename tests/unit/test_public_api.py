"""The public API is ``conveyor.__all__``; pinning it makes every change to it deliberate.

If this test fails because you added or removed a name on purpose, update ``EXPECTED`` here
and say so in the changelog: users' DAG files import these names.
"""

from __future__ import annotations

import conveyor

EXPECTED = [
    "AsyncCallback",
    "BaseOperator",
    "BashOperator",
    "BashSensor",
    "BranchPythonOperator",
    "DAG",
    "Dataset",
    "DayOfWeekSensor",
    "DeadlineAlert",
    "DeadlineReference",
    "EmptyOperator",
    "ExternalPythonOperator",
    "Fail",
    "Label",
    "LatestOnlyOperator",
    "NEVER_EXPIRE",
    "Param",
    "PokeReturnValue",
    "PythonOperator",
    "PythonSensor",
    "PythonVirtualenvOperator",
    "ShortCircuitOperator",
    "Skip",
    "SyncCallback",
    "TaskGroup",
    "TimeDeltaSensor",
    "TriggerRule",
    "__version__",
    "chain",
    "chain_linear",
    "dag",
    "setup",
    "task",
    "task_group",
    "teardown",
]


def test_all_is_exactly_the_pinned_list() -> None:
    assert sorted(conveyor.__all__) == EXPECTED
    assert len(conveyor.__all__) == len(set(conveyor.__all__)), "a name is listed twice"


def test_every_public_name_exists() -> None:
    missing = [name for name in conveyor.__all__ if not hasattr(conveyor, name)]
    assert missing == []


def test_star_import_gives_exactly_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from conveyor import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == EXPECTED


def test_version_is_a_string() -> None:
    assert isinstance(conveyor.__version__, str)
    assert conveyor.__version__.count(".") == 2
