"""Airflow files that did not load, or loaded as another graph, run as on Airflow: on the
scheduler (both stores), with ``conveyor run`` and ``conveyor dags test``, one DAG file for
all of them.

``XComArg.map()`` and ``.zip(fillvalue=)``, ``expand_kwargs`` on a ``@task`` and on a
classic operator, the trigger rules ``one_done`` and ``all_skipped``, ``on_skipped_callback``
(called for the try that raised the skip, not for a task skipped by its upstream),
``chain`` pairing two lists, ``chain_linear``, which DAGs a file defines (a DAG its builder
dropped is not one), and an Airflow 3 file's template naming a context name Airflow 3
removed (it fails, as there; an Airflow 2 file still has it).

STATES, RECORDED, UPSTREAM and the one on_skipped_callback call are what Airflow 3.3.2's
``airflow dags test dl_shapes`` gave for this file (and its DagBag for the graph and the DAG
ids), measured on 2026-11-26.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import make_settings, run_until_finished
from conveyor.loading.processor import DagFileProcessor
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import dag, dag_run, task_instance

CLI = str(Path(sys.executable).parent / "conveyor")

SHAPES = '''
import json
from datetime import datetime
from pathlib import Path

from airflow.exceptions import AirflowSkipException
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, chain, chain_linear, task

OUT = Path("@TMP@")


def note_skip(context):
    (OUT / f"skipped-{context['ti'].task_id}").write_text("called")


def build_half(dag_id):
    """A builder that catches its own error: the DAG it began is dropped."""
    dag = DAG(dag_id, start_date=datetime(2024, 1, 1), schedule=None)
    EmptyOperator(task_id="first", dag=dag)
    try:
        raise RuntimeError("its task group failed")
    except RuntimeError:
        return None
    return dag


build_half("dl_half_built")

with DAG("dl_shapes", start_date=datetime(2024, 1, 1), schedule=None):

    @task
    def letters():
        return ["a", "b", "c"]

    @task
    def numbers():
        return [1, 2]

    @task
    def show(value):
        return value

    @task
    def pair(letter, number):
        return f"{letter}{number}"

    left, right = letters(), numbers()
    mapped = show.override(task_id="mapped").expand(value=left.map(lambda s: s.upper()))
    zipped = show.override(task_id="zipped").expand(value=left.zip(right, fillvalue=0))
    by_kwargs = pair.expand_kwargs(right.map(lambda n: {"letter": "x", "number": n}))
    shell = BashOperator.partial(task_id="shell").expand_kwargs(
        [{"bash_command": "echo one"}, {"bash_command": "echo $WORD", "env": {"WORD": "two"}}]
    )

    @task(on_skipped_callback=note_skip)
    def skipper():
        raise AirflowSkipException("nothing today")

    @task
    def fails():
        raise ValueError("boom")

    skipped, failed = skipper(), fails()
    one_done = EmptyOperator(task_id="one_done", trigger_rule="one_done")
    all_skipped = EmptyOperator(task_id="all_skipped", trigger_rule="all_skipped")
    not_all_skipped = EmptyOperator(task_id="not_all_skipped", trigger_rule="all_skipped")
    after_skip = EmptyOperator(task_id="after_skip", on_skipped_callback=note_skip)
    [skipped, failed] >> one_done
    skipped >> [all_skipped, after_skip]
    [skipped, left] >> not_all_skipped

    ends = [EmptyOperator(task_id=f"c_{x}") for x in "abcdef"]
    chain(ends[0], [ends[1], ends[2]], [ends[3], ends[4]], ends[5])
    linear = [EmptyOperator(task_id=f"l_{x}") for x in "abcd"]
    chain_linear(linear[0], [linear[1], linear[2]], linear[3])

    old_name = BashOperator(task_id="old_name", bash_command="echo {{ execution_date }}")

    @task
    def names(**context):
        return sorted(n for n in ("ds", "execution_date", "next_ds", "tomorrow_ds") if n in context)

    @task(trigger_rule="all_done")
    def record(mapped, zipped, by_kwargs, shell, names):
        # A mapped task's values come as a lazy sequence on Airflow 3: list() them.
        values = {"mapped": list(mapped), "zipped": [list(z) for z in zipped],
                  "by_kwargs": list(by_kwargs), "shell": list(shell), "names": names}
        (OUT / "record.json").write_text(json.dumps(values, sort_keys=True))

    record(mapped, zipped, by_kwargs, shell.output, names())
'''

OLD_NAMES = """
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("dl_old_names", start_date=datetime(2024, 1, 1), schedule=None):
    BashOperator(task_id="yesterday", bash_command="echo {{ yesterday_ds }}")
"""

#: Each task's state (every instance of a mapped one), as Airflow 3.3 ends the run.
STATES = {
    **dict.fromkeys(["letters", "numbers", "mapped", "zipped", "pair", "shell"], "success"),
    "skipper": "skipped",
    "fails": "failed",
    "one_done": "success",  # one upstream failed (the other skipped): it ran
    "all_skipped": "success",
    "not_all_skipped": "skipped",
    "after_skip": "skipped",
    **{f"c_{x}": "success" for x in "abcdef"},
    **{f"l_{x}": "success" for x in "abcd"},
    "old_name": "failed",  # {{ execution_date }}: undefined in an Airflow 3 file
    "names": "success",
    "record": "success",
}

#: What ``record`` saw: the mapped, zipped and expand_kwargs instances' values, and which
#: of the context names it asked for an Airflow 3 task has.
RECORDED = {
    "mapped": ["A", "B", "C"],
    "zipped": [["a", 1], ["b", 2], ["c", 0]],
    "by_kwargs": ["x1", "x2"],
    "shell": ["one", "two"],
    "names": ["ds"],
}

#: The graph: chain() pairs [c_b, c_c] with [c_d, c_e]; chain_linear links every task of
#: one element to every task of the next.
UPSTREAM = {
    "c_b": {"c_a"},
    "c_c": {"c_a"},
    "c_d": {"c_b"},
    "c_e": {"c_c"},
    "c_f": {"c_d", "c_e"},
    "l_b": {"l_a"},
    "l_c": {"l_a"},
    "l_d": {"l_b", "l_c"},
}


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "shapes.py").write_text(SHAPES.replace("@TMP@", str(tmp_path)))
    (folder / "old_names.py").write_text(OLD_NAMES)
    return folder


def _instance_states(store: Store, run_pk: int) -> dict[str, str]:
    """Each task's state; a mapped task's instances must all agree (else their set shows)."""
    with store.read() as conn:
        rows = conn.execute(
            select(task_instance.c.task_id, task_instance.c.state).where(
                task_instance.c.run_pk == run_pk
            )
        ).all()
    found: dict[str, set[str]] = {}
    for task_id, state in rows:
        found.setdefault(task_id, set()).add(str(state))
    return {k: v.pop() if len(v) == 1 else str(sorted(v)) for k, v in found.items()}


def _assert_side_effects(tmp_path: Path) -> None:
    assert json.loads((tmp_path / "record.json").read_text()) == RECORDED
    # on_skipped_callback: the try that raised the skip, not a task skipped by its upstream.
    assert sorted(p.name for p in tmp_path.glob("skipped-*")) == ["skipped-skipper"]


def test_the_scheduler_runs_them_as_airflow_does(
    tmp_path: Path, store_url: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    folder = _folder(tmp_path)
    # Some thirty tries: a slower heartbeat than FAST's, so a busy machine loses none.
    settings = make_settings(
        tmp_path, folder, store_url, parallelism=4, heartbeat_seconds=2, zombie_after_seconds=20
    )
    DagFileProcessor(store, folder, timeout=30, scan_every=60).sync()
    with store.read() as conn:
        registered = set(conn.execute(select(dag.c.dag_id)).scalars())
    assert registered == {"dl_shapes", "dl_old_names"}  # not the dropped dl_half_built
    with store.write() as conn:
        shapes = runs.create_manual_run(conn, "dl_shapes", created_by="test")
        old = runs.create_manual_run(conn, "dl_old_names", created_by="test")
    assert shapes is not None and old is not None
    run_until_finished(settings, store, [shapes, old], limit=120)

    assert _instance_states(store, shapes) == STATES
    assert _instance_states(store, old) == {"yesterday": "success"}  # Airflow 2 keeps it
    _assert_side_effects(tmp_path)
    with store.read() as conn:
        version = conn.execute(select(dag_run.c.version_hash).where(dag_run.c.id == shapes))
        structure = runs.serialized_dag(conn, version.scalar_one())
    assert {t: set(structure.tasks[t].upstream) for t in UPSTREAM} == UPSTREAM


def _table(output: str) -> dict[str, Any]:
    """``conveyor run``'s closing table: each task's states (mapped instances repeat)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["task", "state"])
    found: dict[str, set[str]] = {}
    for line in lines[start + 1 :]:
        cells = line.split()
        if len(cells) < 2 or cells[0] == "run":
            break
        found.setdefault(cells[0], set()).add(cells[1])
    return {k: v.pop() if len(v) == 1 else str(sorted(v)) for k, v in found.items()}


@pytest.mark.parametrize("command", [["run"], ["dags", "test"]], ids=["run", "dags-test"])
def test_conveyor_run_and_dags_test_give_the_same_states_and_values(
    tmp_path: Path, command: list[str]
) -> None:
    folder = _folder(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "AIRFLOW"))}
    env["CONVEYOR_HOME"] = str(tmp_path / "home")
    # The file names no DAG id: it must define exactly one (the dropped one is not there).
    done = subprocess.run(
        [CLI, *command, str(folder / "shapes.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # fails and old_name failed
    assert _table(done.stdout) == STATES, done.stdout
    _assert_side_effects(tmp_path)
