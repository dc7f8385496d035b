"""What dag-factory and astronomer-cosmos use of Airflow works here, without the libraries:
import_string, to_boolean, context_merge, context_to_airflow_vars, the sdk paths, task_group=
on every kind of operator, the session that refuses at use, the settings' defaults."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from airflow_hook_on import hook_on


@pytest.fixture(autouse=True)
def _airflow_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    with hook_on(monkeypatch, tmp_path):
        yield


def test_import_string_finds_operators_and_callables_and_says_what_is_missing() -> None:
    from airflow.sdk.module_loading import import_string
    from airflow.utils.module_loading import import_string as legacy

    bash = import_string("airflow.providers.standard.operators.bash.BashOperator")
    from airflow.providers.standard.operators.bash import BashOperator

    assert bash is BashOperator and legacy is import_string
    assert import_string("os.path.join") is __import__("os").path.join
    with pytest.raises(ImportError, match="does not look like a module path"):
        import_string("nodots")
    with pytest.raises(ImportError, match="does not define a 'nope'"):
        import_string("os.path.nope")


def test_strings_context_merge_and_context_variables() -> None:
    from airflow.sdk.definitions.context import context_merge
    from airflow.sdk.execution_time.context import (
        AIRFLOW_VAR_NAME_FORMAT_MAPPING,
        context_to_airflow_vars,
    )
    from airflow.utils.strings import to_boolean

    assert [to_boolean(v) for v in ("True", "yes", "1", "false", " true", None)] == [
        True,
        True,
        True,
        False,
        True,  # Airflow 3.3 strips the text
        False,
    ]
    context = {"a": 1}
    context_merge(context, {"b": 2}, c=3)
    assert context == {"a": 1, "b": 2, "c": 3}
    ti = SimpleNamespace(task_id="t", dag_id="d", try_number=2, run_id="r1")
    context = {
        "task_instance": ti,
        "task": SimpleNamespace(owner="me", task_id="t", email=["a@x.org", "b@x.org"]),
        "dag_run": SimpleNamespace(logical_date=datetime(2026, 1, 2), run_id="r1"),
    }
    assert context_to_airflow_vars(context, in_env_var_format=True) == {
        "AIRFLOW_CTX_DAG_EMAIL": "a@x.org,b@x.org",
        "AIRFLOW_CTX_DAG_OWNER": "me",
        "AIRFLOW_CTX_DAG_ID": "d",
        "AIRFLOW_CTX_TASK_ID": "t",
        "AIRFLOW_CTX_LOGICAL_DATE": "2026-01-02T00:00:00",
        "AIRFLOW_CTX_TRY_NUMBER": "2",
        "AIRFLOW_CTX_DAG_RUN_ID": "r1",
    }
    # Airflow's own names in the other format: the run's is airflow.ctx.dag_run_id.
    assert list(context_to_airflow_vars(context)) == [
        "airflow.ctx.dag_email",
        "airflow.ctx.dag_owner",
        "airflow.ctx.dag_id",
        "airflow.ctx.task_id",
        "airflow.ctx.logical_date",
        "airflow.ctx.try_number",
        "airflow.ctx.dag_run_id",
    ]
    assert AIRFLOW_VAR_NAME_FORMAT_MAPPING["AIRFLOW_CONTEXT_DAG_RUN_ID"] == {
        "default": "airflow.ctx.dag_run_id",
        "env_var_format": "AIRFLOW_CTX_DAG_RUN_ID",
    }


def test_task_group_keyword_on_classic_mapped_and_decorated_tasks() -> None:
    from airflow.models.base import ID_LEN
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import task
    from airflow.sdk.definitions.dag import DAG
    from airflow.sdk.definitions.taskgroup import TaskGroup

    assert ID_LEN == 250
    dag = DAG("grouped", start_date=datetime(2026, 1, 1), schedule=None)
    outer = TaskGroup("outer", dag=dag, default_args={"retries": 3})
    inner = TaskGroup("inner", dag=dag, parent_group=outer)
    first = BashOperator(task_id="first", bash_command="echo", dag=dag, task_group=outer)
    deep = BashOperator(task_id="deep", bash_command="echo", task_group=inner)  # dag from group
    mapped = PythonOperator.partial(task_id="each", python_callable=print, task_group=inner)
    each = mapped.expand(op_args=[[1], [2]])

    @task(task_group=outer)
    def decorated() -> int:
        return 1

    with dag:
        made = decorated()
    assert sorted(dag.task_dict) == [
        "outer.decorated",
        "outer.first",
        "outer.inner.deep",
        "outer.inner.each",
    ]
    assert first.task_group is outer and deep.task_group is inner and each.task_group is inner
    assert made.operator.task_group is outer
    assert first.retries == 3 and deep.retries == 3 and each.retries == 3  # the group's defaults
    assert outer.dag_id == "grouped"
    with pytest.raises(Exception, match="task_group= must be a TaskGroup"):
        BashOperator(task_id="x", bash_command="echo", dag=dag, task_group="outer")


def test_an_operator_signature_lists_base_operator_keywords() -> None:
    """Cosmos picks the keywords it hands BaseOperator.__init__ by its signature."""
    from airflow.models import BaseOperator
    from airflow.sdk.bases.operator import BaseOperator as SdkBaseOperator

    assert BaseOperator is SdkBaseOperator
    names = set(inspect.signature(BaseOperator.__init__).parameters)
    assert {"task_id", "dag", "task_group", "retries", "default_args", "owner"} <= names


def test_provide_session_imports_and_refuses_at_use() -> None:
    from airflow.utils.session import NEW_SESSION, create_session, provide_session

    @provide_session
    def count(session=NEW_SESSION):  # type: ignore[no-untyped-def]
        return session.query("x")

    with pytest.raises(RuntimeError, match="not Airflow's database"):
        count()
    with create_session() as session, pytest.raises(RuntimeError, match=r"session\.commit"):
        session.commit()


def test_version_and_the_settings_libraries_read() -> None:
    import airflow
    from airflow.configuration import conf

    assert airflow.__version__ == "3.3.2"
    assert conf.getint("core", "max_active_tasks_per_dag") == 16
    assert conf.getint("core", "max_active_runs_per_dag") == 16
    assert conf.getboolean("scheduler", "catchup_by_default") is False
