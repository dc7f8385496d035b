"""YAML DAGs run exactly like Python DAGs, through the real processor, scheduler and workers.

One pipeline is written twice, as a Python file and as a YAML file, in one DAG folder. The
DAG file processor parses both in its child processes, the scheduler creates the scheduled
runs their schedule calls for, a manual run of each is added, and the local executor runs
every task in worker processes, which import the pinned DAG version: the YAML one through
the YAML loader. The two DAGs must end with the same structure, the same runs, the same task
states and tries and the same XCom values.

Then the examples: every example DAG is exported to the other form and read back to the
same serialized DAG, or the export names the task it cannot express and why; and the YAML
examples run green.
"""

from __future__ import annotations

import textwrap
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from conftest import make_settings, run_scheduler
from conveyor.loading.importer import import_dag_file
from conveyor.loading.processor import DagFileProcessor, find_dag_files, loader_for
from conveyor.loading.serialize import serialize_dag
from conveyor.loading.yaml import ExportError, load_yaml_dags, load_yaml_text
from conveyor.loading.yaml.export import export_dag
from conveyor.states import RUN_FINISHED, RunState
from conveyor.store import runs, schema
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_run, import_error, task_instance, xcom

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "dags"
WHEN = datetime(2026, 3, 7, 10, tzinfo=UTC)  # a Saturday

STEPS = '''
"""Steps of the test pipeline, called by path from YAML and imported by the Python file."""

from pathlib import Path


def count_rows(line):
    return int(line.partition("=")[2])


def flaky(marker):
    # Fails the first try of each run, so that both forms must retry the same way.
    if not Path(marker).exists():
        Path(marker).write_text("tried")
        raise RuntimeError("first try fails")
    return "recovered"


def choose(n, logical_date):
    return "big" if n > 2 and logical_date.weekday() >= 5 else "small"
'''

PYTHON_DAG = """
from datetime import datetime, timedelta

from conveyor import DAG, BashOperator, BranchPythonOperator, EmptyOperator, PythonOperator
from conveyor.model.xcom_arg import XComArg
from {steps} import choose, count_rows, flaky

with DAG(
    "pipeline_py",
    schedule="0 6 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={{"retry_delay": timedelta(seconds=0)}},
    params={{"label": "rows"}},
    tags=["twin"],
):
    start = BashOperator(task_id="start", bash_command='echo "{{{{ params.label }}}}=3"')
    count = PythonOperator(task_id="count", python_callable=count_rows, op_args=[XComArg(start)])
    retrying = PythonOperator(
        task_id="flaky",
        python_callable=flaky,
        op_kwargs={{"marker": "{tmp}/marker_{{{{ dag.dag_id }}}}_{{{{ run_id }}}}"}},
        retries=1,
    )
    pick = BranchPythonOperator(
        task_id="choose", python_callable=choose, op_kwargs={{"n": XComArg(count)}}
    )
    big = BashOperator(task_id="big", bash_command="echo big {{{{ ds }}}}")
    small = BashOperator(task_id="small", bash_command="echo small {{{{ ds }}}}")
    join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
    pick >> [big, small] >> join
    retrying >> join
"""

YAML_DAG = """
dags:
  pipeline_yaml:
    schedule: 0 6 * * *
    start_date: 2026-01-01
    catchup: false
    default_args: {{retry_delay: 0}}
    params: {{label: rows}}
    tags: [twin]
    tasks:
      start:
        operator: bash
        bash_command: 'echo "{{{{ params.label }}}}=3"'
      count:
        operator: python
        python_callable: {steps}:count_rows
        op_args: [{{xcom: start}}]
      flaky:
        operator: python
        python_callable: {steps}:flaky
        op_kwargs: {{marker: "{tmp}/marker_{{{{ dag.dag_id }}}}_{{{{ run_id }}}}"}}
        retries: 1
      choose:
        operator: branch_python
        python_callable: {steps}:choose
        op_kwargs: {{n: {{xcom: count}}}}
      big: {{operator: bash, bash_command: "echo big {{{{ ds }}}}"}}
      small: {{operator: bash, bash_command: "echo small {{{{ ds }}}}"}}
      join: {{operator: empty, trigger_rule: none_failed_min_one_success}}
    chain:
      - choose >> [big, small] >> join
      - flaky >> join
"""


def _structure(found: Any) -> dict[str, Any]:
    data = serialize_dag(found)
    for key in ("fileloc", "dag_id"):
        data.pop(key)
    return data


def _create_manual_runs(store: Store, dag_ids: list[str]) -> list[int]:
    created = []
    with store.write() as conn:
        for dag_id in dag_ids:
            run_pk = runs.create_manual_run(
                conn, dag_id, logical_date=WHEN, created_by="test_yaml_runs"
            )
            assert run_pk is not None
            created.append(run_pk)
    return created


def _outcome(store: Store, dag_id: str) -> dict[str, Any]:
    """Per run of the DAG (by type and logical date): task states, tries and XCom values."""
    found: dict[str, Any] = {}
    with store.read() as conn:
        for run in conn.execute(select(dag_run).where(dag_run.c.dag_id == dag_id)):
            tis = conn.execute(
                select(
                    task_instance.c.task_id, task_instance.c.state, task_instance.c.try_number
                ).where(task_instance.c.run_pk == run.id)
            )
            values = conn.execute(
                select(xcom.c.task_id, xcom.c.key, xcom.c.value).where(xcom.c.run_pk == run.id)
            )
            found[f"{run.run_type} {run.logical_date.isoformat()}"] = {
                "state": run.state,
                "tasks": {ti.task_id: (ti.state, ti.try_number) for ti in tis},
                "xcom": {(x.task_id, x.key): x.value for x in values},
            }
    return found


def _all_finished(store: Store, at_least: int) -> Any:
    def check() -> bool:
        with store.read() as conn:
            states = conn.execute(select(dag_run.c.state)).scalars().all()
        return len(states) >= at_least and all(RunState(s) in RUN_FINISHED for s in states)

    return check


def test_the_same_pipeline_in_python_and_yaml_runs_the_same(tmp_path: Path) -> None:
    dags_folder = tmp_path / "dags"
    dags_folder.mkdir()
    steps = f"twin_steps_{uuid.uuid4().hex[:8]}"
    (dags_folder / f"{steps}.py").write_text(STEPS)
    (dags_folder / "pipeline_py.py").write_text(PYTHON_DAG.format(steps=steps, tmp=tmp_path))
    (dags_folder / "pipeline.yaml").write_text(YAML_DAG.format(steps=steps, tmp=tmp_path))

    (python_dag,) = import_dag_file(str(dags_folder / "pipeline_py.py"))
    (yaml_dag,) = load_yaml_dags(str(dags_folder / "pipeline.yaml"))
    assert _structure(yaml_dag) == _structure(python_dag)

    settings = make_settings(tmp_path, dags_folder, f"sqlite:///{tmp_path / 'conveyor.db'}")
    store = Store(settings.db_url)
    try:
        schema.migrate(store)
        DagFileProcessor(store, dags_folder, timeout=10, scan_every=60).sync()
        with store.read() as conn:
            assert conn.execute(select(import_error)).all() == []
            stored = {row.dag_id: row.version_hash for row in conn.execute(select(dag))}
            assert set(stored) == {"pipeline_py", "pipeline_yaml"}
            in_store = {d: runs.serialized_dag(conn, v).raw for d, v in stored.items()}
        # Where each came from differs: its file, and the place of that file beside the
        # helper module both ship with (loading.shipping).
        per_file = ("fileloc", "dag_id", "shipped")
        assert {k: v for k, v in in_store["pipeline_yaml"].items() if k not in per_file} == {
            k: v for k, v in in_store["pipeline_py"].items() if k not in per_file
        }
        assert (
            in_store["pipeline_yaml"]["shipped"]["files"]
            == in_store["pipeline_py"]["shipped"]["files"]
        )
        _create_manual_runs(store, ["pipeline_py", "pipeline_yaml"])
        # The scheduler adds each DAG's latest daily interval too (catchup is off): 4 runs.
        run_scheduler(settings, store, _all_finished(store, 4), limit=60, what="all four runs")
        python_outcome = _outcome(store, "pipeline_py")
        yaml_outcome = _outcome(store, "pipeline_yaml")
    finally:
        store.dispose()

    assert yaml_outcome == python_outcome
    manual = python_outcome[f"manual {WHEN.isoformat()}"]
    assert manual["state"] == "success"
    assert manual["tasks"] == {
        "start": ("success", 1),
        "count": ("success", 1),
        "flaky": ("success", 2),  # failed once, retried
        "choose": ("success", 1),
        "big": ("success", 1),
        "small": ("skipped", 0),
        "join": ("success", 1),
    }
    assert manual["xcom"][("count", "return_value")] == 3
    assert manual["xcom"][("choose", "return_value")] == "big"
    assert manual["xcom"][("big", "return_value")] == "big 2026-03-07"
    assert len(python_outcome) == 2  # the manual run and one scheduled run, for each form


def test_a_broken_yaml_file_is_an_import_error_and_the_others_still_load(tmp_path: Path) -> None:
    dags_folder = tmp_path / "dags"
    dags_folder.mkdir()
    (dags_folder / "good.yaml").write_text("dags:\n  good:\n    tasks: {a: {operator: empty}}\n")
    (dags_folder / "broken.yml").write_text(
        textwrap.dedent(
            """
            dags:
              broken:
                schedule: every day
                tasks:
                  a: {operator: empty, depends_on: [b]}
            """
        )
    )
    (dags_folder / "also_good_dag.py").write_text(
        "from conveyor import DAG, EmptyOperator\n"
        "with DAG('also_good'):\n    EmptyOperator(task_id='a')\n"
    )
    store = Store(f"sqlite:///{tmp_path / 'conveyor.db'}")
    try:
        schema.migrate(store)
        DagFileProcessor(store, dags_folder, timeout=10, scan_every=60).sync()
        with store.read() as conn:
            dag_ids = set(conn.execute(select(dag.c.dag_id)).scalars())
            errors = conn.execute(select(import_error)).all()
    finally:
        store.dispose()
    assert dag_ids == {"good", "also_good"}
    assert [(e.fileloc, e.line) for e in errors] == [(str(dags_folder / "broken.yml"), 4)]
    broken = dags_folder / "broken.yml"
    assert errors[0].message == (
        f"2 problems in {broken}:\n"
        f"  {broken}:4:15: DAG 'broken': invalid schedule: expected a cron expression with 5 "
        "fields (minute hour day-of-month month day-of-week), a preset (@once, @hourly, "
        "@daily, @midnight, @weekly, @monthly, @yearly, @annually), a duration such as 1h, or "
        "null for manual runs only, found 'every day'\n"
        f"  {broken}:6:41: DAG 'broken', task 'a': unknown task 'b': expected one of this "
        "DAG's tasks: a, found 'b'"
    )


# -- the examples ----------------------------------------------------------------------------


def _example_dags() -> list[tuple[str, Any]]:
    found = []
    for path in find_dag_files(EXAMPLES):
        found += [(str(path), d) for d in loader_for(str(path))(str(path))]
    return found


def test_every_example_dag_round_trips_to_the_other_form(tmp_path: Path) -> None:
    refused: dict[str, ExportError] = {}
    yaml_examples = 0
    for path, example in _example_dags():
        before = serialize_dag(example)
        before.pop("fileloc")
        if path.endswith((".yaml", ".yml")):
            yaml_examples += 1
            text = export_dag(example, "python")
            target = tmp_path / f"{example.dag_id}_exported.py"
            target.write_text(text)
            # Imported as from the DAG folder, where the helpers its callables name are.
            (again,) = import_dag_file(str(target), folders=[str(EXAMPLES)])
        else:
            try:
                text = export_dag(example, "yaml")
            except ExportError as exc:
                refused[example.dag_id] = exc
                # It names a task of the DAG, and why YAML cannot hold it.
                assert exc.task_id in example.task_dict, exc
                why = ("python_callable", "operator class", "cannot express")
                assert any(reason in exc.reason for reason in why), exc
                assert str(exc).startswith(f"DAG {example.dag_id!r}, task {exc.task_id!r}: ")
                continue
            fake = str(Path(path).with_name(f"{example.dag_id}_exported.yaml"))
            (again,) = load_yaml_text(text, fake, environ={})
        after = serialize_dag(again)
        after.pop("fileloc")
        assert after == before, example.dag_id
    assert yaml_examples >= 4  # orders_by_table makes three, branching.yaml one
    assert "hello_bash" not in refused  # plain operators and templates export as they are
    # @task functions written in the DAG file (or inside its @dag function) have no import path.
    reasons = (
        "is defined in the DAG file itself",
        "is defined inside a function",
        "lambda",
        "which a YAML file cannot express",  # e.g. a Dataset in outlets
    )
    for exc in refused.values():
        assert any(reason in exc.reason for reason in reasons), exc


def test_the_yaml_examples_run_green(tmp_path: Path) -> None:
    folder = EXAMPLES / "yaml"
    settings = make_settings(tmp_path, folder, f"sqlite:///{tmp_path / 'conveyor.db'}")
    store = Store(settings.db_url)
    try:
        schema.migrate(store)
        DagFileProcessor(store, folder, timeout=10, scan_every=60).sync()
        ours = ["orders_customers", "branching_yaml"]
        with store.write() as conn:
            assert conn.execute(select(import_error)).all() == []
            # Their schedules would add runs too; the other two table DAGs need not run here.
            conn.execute(update(dag).where(dag.c.dag_id.not_in(ours)).values(is_paused=True))
        _create_manual_runs(store, ours)
        # Besides ours, each DAG gets its latest scheduled interval: all must end in success.
        run_scheduler(settings, store, _all_finished(store, 4), limit=60, what="examples")
        orders, branching = (_outcome(store, d) for d in ours)
    finally:
        store.dispose()
    for run in [*orders.values(), *branching.values()]:
        assert run["state"] == "success", run
    orders_run = orders[f"manual {WHEN.isoformat()}"]
    assert set(orders_run["tasks"].values()) == {("success", 1)}
    rows = int("20260307") % 97 + 1
    assert orders_run["xcom"][("check", "return_value")] == {"table": "customers", "rows": rows}
    assert orders_run["xcom"][("load", "return_value")] == (
        f"loading customers for 2026-03-07 ({rows} rows)"
    )
    branching_run = branching[f"manual {WHEN.isoformat()}"]
    assert branching_run["xcom"][("choose_path", "return_value")] == "weekend_report"
    assert branching_run["tasks"]["weekday_report"] == ("skipped", 0)
    assert branching_run["tasks"]["join"] == ("success", 1)


@pytest.mark.parametrize("fmt", ["yaml", "python"])
def test_an_example_exports_to_its_own_form_too(fmt: str) -> None:
    (example,) = load_yaml_dags(str(EXAMPLES / "yaml" / "branching.yaml"))
    text = export_dag(example, fmt)  # type: ignore[arg-type]
    assert "helpers.yaml_callables" in text
