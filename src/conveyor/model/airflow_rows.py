"""Row types that Airflow's files know as ORM models: a run (``DagRun``), a task instance.

Airflow's files read their columns from the class (``DagRun.execution_date``), to build a
query of Airflow's database, as the well-known database cleanup DAG does at import. Conveyor's
store is not that database: such a name is refused with the reason and what to use instead,
not with a bare ``AttributeError`` naming a class the file never wrote.
"""

from __future__ import annotations

from typing import Any


class AirflowRowType(type):
    """The metaclass of such a row type; ``airflow_name`` is the model's name in Airflow."""

    airflow_name: str

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):  # copy, typing, pickle ask these
            raise AttributeError(name)
        raise AttributeError(
            f"{cls.airflow_name}.{name}: Conveyor's {cls.airflow_name} ({cls.__name__}) is "
            "not a model of Airflow's database, so its columns cannot be read from the class "
            "or queried; read runs and task instances through the REST API (docs/api.md), and "
            "delete old ones with `conveyor db clean` (docs/airflow.md, Airflow's database)"
        )
