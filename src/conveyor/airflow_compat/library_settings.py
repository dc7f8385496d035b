"""Airflow 3.3's defaults for the settings that libraries built on Airflow read (dag-factory
reads them for every DAG it builds) and Conveyor has no setting of its own for: they read as
on an Airflow with no configuration, an ``AIRFLOW__SECTION__KEY`` variable still wins."""

from __future__ import annotations

#: (section, key) -> Airflow 3.3.2's default, as text (as ``conf.get`` gives it).
AIRFLOW_DEFAULTS: dict[tuple[str, str], str] = {
    ("core", "max_active_tasks_per_dag"): "16",
    ("core", "max_active_runs_per_dag"): "16",
    ("core", "dag_ignore_file_syntax"): "glob",
    ("scheduler", "catchup_by_default"): "False",
    ("webserver", "dag_default_view"): "grid",
    ("webserver", "dag_orientation"): "LR",
}
