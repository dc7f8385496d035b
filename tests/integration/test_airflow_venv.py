"""PythonVirtualenvOperator, ExternalPythonOperator and ``async def`` tasks through the real
scheduler on both backends: the function runs in the other interpreter with its arguments
(an upstream XCom among them), its return value comes back as XCom, and two tries needing
the same virtualenv at once create it once, under $CONVEYOR_HOME/venvs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conveyor import DAG, PythonVirtualenvOperator
from conveyor.exceptions import DagDefinitionError
from conveyor.states import TaskState
from conveyor.store.tables import xcom
from run_env import Env, run_one

S, F = TaskState.SUCCESS, TaskState.FAILED


def xcoms(env: Env, run_pk: int) -> dict[str, Any]:
    with env.store.read() as conn:
        rows = conn.execute(select(xcom.c.task_id, xcom.c.value).where(xcom.c.run_pk == run_pk))
        return {task_id: value for task_id, value in rows}


def test_functions_run_in_a_cached_virtualenv_and_an_external_python(env: Env) -> None:
    env.write_dag(
        "venv.py",
        f"""
        import asyncio
        from conveyor import PythonVirtualenvOperator

        with DAG("venv", start_date=START, max_active_tasks=4):
            @task
            def numbers():
                return [1, 2, 3]

            @task.virtualenv(requirements=["six"], system_site_packages=False)
            def in_venv(rows, ds=None):
                import sys
                import six

                try:
                    import conveyor  # noqa: F401
                    isolated = False
                except ImportError:
                    isolated = True
                return {{"total": sum(rows), "six": six.__version__, "prefix": sys.prefix,
                        "ds": ds, "isolated": isolated}}

            def twin(n):
                import six
                return n * 2

            in_venv(numbers())
            PythonVirtualenvOperator(
                task_id="same_venv", python_callable=twin, op_args=[21],
                requirements=["six"], system_site_packages=False,
            )

            @task.external_python(python={sys.executable!r})
            def external():
                import sys
                return sys.executable

            external()

            def broken():
                raise ValueError("inside the venv")

            PythonVirtualenvOperator(task_id="broken", python_callable=broken)

            @task
            async def waits(n=2):
                await asyncio.sleep(0.1)
                return n * 10

            waits()
        """,
    )
    run_pk = run_one(env, "venv", limit=240.0)
    assert env.states(run_pk) == {
        "numbers": S,
        "in_venv": S,
        "same_venv": S,
        "external": S,
        "broken": F,
        "waits": S,
    }
    values = xcoms(env, run_pk)
    venvs = env.tmp / "home" / "venvs"
    made = value = values["in_venv"]
    assert value["total"] == 6 and value["isolated"] is True and value["six"]
    assert value["ds"] and Path(made["prefix"]).parent == venvs
    assert values["same_venv"] == 42
    assert values["external"] == sys.executable
    assert values["waits"] == 20
    # One virtualenv for the two tasks with the same requirements, another for none.
    ready = sorted(p.parent for p in venvs.glob("*/.conveyor-ready"))
    assert len(ready) == 2 and Path(made["prefix"]) in ready
    logs = {
        task_id: Path(env.tries(run_pk, task_id)[0].log_path).read_text()
        for task_id in ("in_venv", "same_venv")
    }
    created = [t for t, text in logs.items() if "created virtualenv" in text]
    reused = [t for t, text in logs.items() if "reusing virtualenv" in text]
    assert len(created) == 1 and len(reused) == 1, logs
    assert (
        "ValueError: inside the venv" in Path(env.tries(run_pk, "broken")[0].log_path).read_text()
    )

    again = run_one(env, "venv", limit=120.0)  # the next run reuses, creates nothing
    assert env.states(again)["in_venv"] is S
    text = Path(env.tries(again, "in_venv")[0].log_path).read_text()
    assert "reusing virtualenv" in text and "created virtualenv" not in text


def test_a_lambda_cannot_run_in_another_python() -> None:
    with DAG("lam"), pytest.raises(DagDefinitionError, match="a lambda cannot run"):
        PythonVirtualenvOperator(task_id="x", python_callable=lambda: 1)


def test_branches_decided_in_another_python(env: Env) -> None:
    env.write_dag(
        "branch_py.py",
        f"""
        from conveyor import Label
        from conveyor.operators import BranchExternalPythonOperator

        with DAG("branch_py", start_date=START):
            def pick(options):
                return "ext_" + options[1]

            ext = BranchExternalPythonOperator(
                task_id="ext", python={sys.executable!r}, python_callable=pick,
                op_args=[["a", "b"]],
            )
            for option in ("a", "b"):
                ext >> Label(option) >> EmptyOperator(task_id="ext_" + option)

            @task.branch_virtualenv(venv_cache_path="@TMP@/cache")
            def venv_pick():
                return ["venv_a", "venv_b"]

            chosen = venv_pick()
            for option in ("a", "b", "c"):
                chosen >> EmptyOperator(task_id="venv_" + option)
        """,
    )
    run_pk = run_one(env, "branch_py", limit=120.0)
    assert env.states(run_pk) == {
        "ext": S,
        "ext_a": TaskState.SKIPPED,
        "ext_b": S,
        "venv_pick": S,
        "venv_a": S,
        "venv_b": S,
        "venv_c": TaskState.SKIPPED,
    }
    assert list((env.tmp / "cache").glob("*/.conveyor-ready"))  # venv_cache_path was used
    assert not (env.tmp / "home" / "venvs").exists()


def test_a_serializer_is_accepted_by_name_and_an_unknown_one_refused() -> None:
    def f() -> int:
        return 1

    with DAG("ser"):
        op = PythonVirtualenvOperator(task_id="a", python_callable=f, serializer="dill")
        assert op.serializer == "dill"
        with pytest.raises(DagDefinitionError, match="serializer 'yaml'"):
            PythonVirtualenvOperator(task_id="b", python_callable=f, serializer="yaml")
