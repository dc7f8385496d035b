"""Which other DAGs a one-off run needs: read from a parsed DAG's templated fields."""

from __future__ import annotations

from pathlib import Path

from conveyor import DAG, EmptyOperator
from conveyor.loading.neighbours import files_naming, references
from conveyor.loading.serialize import serialize_dag
from conveyor.operators.trigger_dagrun import TriggerDagRunOperator
from conveyor.sensors import ExternalTaskSensor
from conveyor.serialized import SerializedDag


def _structure(dag: DAG) -> SerializedDag:
    return SerializedDag.from_dict(serialize_dag(dag))


def test_triggered_and_awaited_dags_are_read_from_the_fields() -> None:
    with DAG("needs") as dag:
        TriggerDagRunOperator(task_id="kick", trigger_dag_id="target")
        TriggerDagRunOperator(task_id="later", trigger_dag_id="{{ params.which }}")
        ExternalTaskSensor(task_id="wait", external_dag_id="upstream")
        ExternalTaskSensor(task_id="wait_too", external_dag_id="upstream")
        EmptyOperator(task_id="plain")
    found = references(_structure(dag))
    assert found.triggered == {"target"}  # a template is known only when the task runs
    assert found.awaited == {"upstream": ["wait", "wait_too"]}
    assert found.dag_ids == {"target", "upstream"}


def test_only_files_that_name_an_id_are_candidates(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.py").write_text("from conveyor import DAG\nDAG('target')\n")
    (tmp_path / "sub" / "b.py").write_text("from conveyor import DAG\nDAG('upstream')\n")
    (tmp_path / "c.py").write_text("from conveyor import DAG\nDAG('other')\n")
    own = tmp_path / "own.py"
    own.write_text("from conveyor import DAG\n# target\nDAG('own')\n")
    found = files_naming(tmp_path, {"target", "upstream"}, skip=[own])
    assert sorted(p.name for p in found) == ["a.py", "b.py"]
