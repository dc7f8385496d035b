"""Airflow's core names that DAG files reach without importing them one by one: the
``airflow`` package's submodules as attributes, its configuration and settings, 1.10's flat
paths, the older trigger rule names, ``@dag.task``, and what the source check lets through.

Pure tests: each installs the hook in this process and removes it afterwards.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import conveyor
from conveyor import airflow_compat
from conveyor.airflow_compat.lint import check_source
from conveyor.exceptions import DagImportError
from conveyor.loading.importer import import_dag_file
from conveyor.model.context import DagContext


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CONVEYOR_AIRFLOW_COMPAT", raising=False)
    monkeypatch.delenv("CONVEYOR_DAGS_FOLDER", raising=False)
    monkeypatch.delenv("AIRFLOW_HOME", raising=False)  # restored (absent) after the test
    assert airflow_compat.activate() is True
    yield (tmp_path / "home").resolve()
    airflow_compat.uninstall()
    DagContext.created.clear()


def test_the_airflow_package_gives_its_submodules_as_attributes(home: Path) -> None:
    import airflow

    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert airflow.utils.dates.days_ago(1) == midnight - timedelta(days=1)
    assert issubclass(airflow.operators.bash.BashOperator, conveyor.BashOperator)
    assert airflow.models.Variable is conveyor.connections.Variable
    from airflow import utils

    assert utils.trigger_rule.TriggerRule is conveyor.TriggerRule
    assert "utils" in dir(airflow) and "dates" in dir(airflow.utils)


def test_an_unknown_name_imports_and_says_what_it_is_at_use(home: Path) -> None:
    import airflow

    from conveyor.airflow_compat import AirflowNotProvidedError

    module = airflow.utils.no_such_thing  # a package's lower-case name: a module of its own
    with pytest.raises(AirflowNotProvidedError) as caught:
        module()
    message = str(caught.value)
    assert "airflow.utils.no_such_thing is not provided by Conveyor" in message
    assert "docs/airflow.md" in message
    namespace: dict[str, object] = {}
    exec("from airflow import NoSuchThing", namespace)
    with pytest.raises(AirflowNotProvidedError, match=r"airflow\.NoSuchThing is not provided"):
        namespace["NoSuchThing"].attribute  # type: ignore[attr-defined]  # noqa: B018
    assert getattr(airflow, "__no_such_dunder__", "absent") == "absent"  # as on any module


def test_configuration_maps_onto_conveyor_settings(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.configuration import conf
    from airflow.exceptions import AirflowConfigException

    assert conf.get("core", "dags_folder") == str(home / "dags")
    assert conf.get("CORE", "Executor") == "LocalExecutor"
    assert conf.getint("core", "parallelism") == 8
    assert conf.getboolean("core", "load_examples") is False
    assert conf.get("logging", "base_log_folder") == str(home / "logs")
    assert conf.has_option("core", "dags_folder") and not conf.has_option("team", "owner")
    assert conf.get("team", "owner", fallback="data") == "data"
    assert conf.getint("team", "size", fallback=25) == 25
    with pytest.raises(AirflowConfigException, match=r"\[team\] owner.*AIRFLOW__TEAM__OWNER"):
        conf.get("team", "owner")
    # A key Airflow defines and Conveyor has no setting for: Airflow's default.
    assert conf.getint("core", "max_active_tasks_per_dag") == 16
    assert conf.getboolean("scheduler", "catchup_by_default") is False
    # An AIRFLOW__SECTION__KEY variable wins, as in Airflow, over Conveyor's own value too.
    monkeypatch.setenv("AIRFLOW__SMTP__SMTP_PORT", "2525")
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", "3")
    monkeypatch.setenv("AIRFLOW__MINE__ENABLED", "True")
    monkeypatch.setenv("AIRFLOW__MINE__RATIO", "0.5")
    assert conf.getint("smtp", "smtp_port") == 2525 and conf.getint("core", "parallelism") == 3
    assert conf.getboolean("mine", "enabled") is True and conf.getfloat("mine", "ratio") == 0.5
    monkeypatch.setenv("AIRFLOW__MINE__ENABLED", "maybe")
    with pytest.raises(AirflowConfigException, match="'maybe' is not true or false"):
        conf.getboolean("mine", "enabled")


def test_settings_version_and_airflow_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import airflow
    from airflow import settings
    from airflow.configuration import AIRFLOW_HOME
    from airflow.version import version

    assert os.environ["AIRFLOW_HOME"] == str(home)  # files read it at import, as in Airflow
    assert settings.AIRFLOW_HOME == AIRFLOW_HOME == str(home)
    assert str(home / "dags") == settings.DAGS_FOLDER
    assert version == airflow.__version__ == "3.3.2"  # libraries take their Airflow 3 paths
    # A home the environment gives is the user's own: left as it is.
    monkeypatch.setenv("AIRFLOW_HOME", "/opt/airflow")
    airflow_compat.activate()
    assert os.environ["AIRFLOW_HOME"] == "/opt/airflow"


def test_exception_trigger_rule_decorator_and_date_names(home: Path) -> None:
    import airflow
    from airflow import AirflowException
    from airflow.exceptions import (
        AirflowNotFoundException,
        DagNotFound,
        DagRunAlreadyExists,
    )
    from airflow.sdk.definitions.decorators import task
    from airflow.task.trigger_rule import TriggerRule
    from airflow.utils.dates import datetime as dates_datetime
    from airflow.utils.dates import timedelta as dates_timedelta

    assert AirflowException is airflow.exceptions.AirflowException
    assert issubclass(DagRunAlreadyExists, AirflowException)
    assert issubclass(DagNotFound, AirflowNotFoundException)
    assert TriggerRule is conveyor.TriggerRule
    assert dates_datetime is datetime and dates_timedelta is timedelta
    with conveyor.DAG("decorated") as built:

        @task
        def work() -> int:
            return 1

        work()
    assert built.task_ids == ["work"]


def test_airflow_1_10_flat_paths(home: Path) -> None:
    from airflow.contrib.sensors.file_sensor import FileSensor
    from airflow.operators import (
        BashOperator,
        BranchPythonOperator,
        DummyOperator,
        PythonOperator,
    )
    from airflow.operators.sensors import BaseSensorOperator, ExternalTaskSensor

    assert issubclass(BashOperator, conveyor.BashOperator)
    assert issubclass(PythonOperator, conveyor.PythonOperator)
    assert issubclass(BranchPythonOperator, conveyor.BranchPythonOperator)
    assert issubclass(DummyOperator, conveyor.EmptyOperator)
    assert issubclass(FileSensor, conveyor.sensors.FileSensor)
    assert issubclass(ExternalTaskSensor, conveyor.sensors.ExternalTaskSensor)
    assert issubclass(BaseSensorOperator, conveyor.sensors.BaseSensor)


@pytest.mark.parametrize(
    "statement",
    [
        "from airflow.operators.subdag_operator import SubDagOperator",
        "from airflow.operators.subdag import SubDagOperator",
        "from airflow.operators import SubDagOperator",
    ],
)
def test_a_subdag_is_refused_with_what_to_write_instead(home: Path, statement: str) -> None:
    from conveyor.airflow_compat import AirflowNotProvidedError
    from conveyor.airflow_compat.lint import refused_at_use

    namespace: dict[str, object] = {}
    exec(statement, namespace)  # imports, as on Airflow 2.10
    with pytest.raises(AirflowNotProvidedError, match=r"use a TaskGroup.*TaskGroup\(task_id\)"):
        namespace["SubDagOperator"](task_id="sub", subdag=None)  # type: ignore[operator]
    assert check_source(statement) == []  # the file loads: a warning, not an error
    (finding,) = refused_at_use(statement)
    assert "use a TaskGroup" in finding.message and "refuses at its first use" in finding.message


def test_older_trigger_rule_names_mean_what_they_meant(home: Path) -> None:
    from airflow import DAG
    from airflow.operators.bash import BashOperator
    from airflow.utils.trigger_rule import TriggerRule

    with DAG("rules", default_args={"trigger_rule": "none_failed_or_skipped"}):
        joined = BashOperator(task_id="joined", bash_command="true")
        named = BashOperator(
            task_id="named", bash_command="true", trigger_rule=TriggerRule.NONE_FAILED_OR_SKIPPED
        )
        dummy = BashOperator(task_id="dummy", bash_command="true", trigger_rule="dummy")
    assert joined.trigger_rule is conveyor.TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS
    assert named.trigger_rule is conveyor.TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS
    assert dummy.trigger_rule is conveyor.TriggerRule.ALWAYS


def test_a_dag_objects_task_decorator_adds_to_that_dag(home: Path) -> None:
    from airflow import DAG

    dag = DAG("owner", schedule=None)

    @dag.task
    def first() -> int:
        return 1

    @dag.task(task_id="second_one", retries=2)
    def second(value: int) -> int:
        return value + 1

    second(first())  # outside any `with DAG`: the tasks join the DAG they were made from
    assert dag.task_ids == ["first", "second_one"]
    assert dag.get_task("second_one").retries == 2
    assert dag.get_task("second_one").upstream_task_ids == {"first"}


def test_the_source_check_takes_template_keywords_and_a_byte_order_mark() -> None:
    source = "\ufeff" + "\n".join(
        [
            "from airflow import DAG",
            "with DAG('t', user_defined_macros={'a': 1}, user_defined_filters={'f': str},",
            "         render_template_as_native_obj=True, jinja_environment_kwargs={}):",
            "    pass",
        ]
    )
    found = check_source(source)
    assert [(f.line, "jinja_environment_kwargs" in f.message) for f in found] == [(3, True)]


def test_a_file_with_a_byte_order_mark_imports(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "bom.py"
    path.write_bytes(
        "\ufeff# saved by an editor that writes a BOM\n"
        "from airflow import DAG\n"
        "dag = DAG('bom', schedule=None)\n".encode()
    )
    (dag,) = import_dag_file(str(path))
    assert dag.dag_id == "bom"


def test_every_new_module_resolves_without_the_hook_knowing_more(home: Path) -> None:
    for module in (
        "airflow.configuration",
        "airflow.settings",
        "airflow.version",
        "airflow.api.common.trigger_dag",
        "airflow.task.trigger_rule",
        "airflow.sdk.definitions.decorators",
        "airflow.contrib.sensors.file_sensor",
        "airflow.operators.sensors",
    ):
        importlib.import_module(module)


def test_an_execute_callback_that_raises_is_logged_and_the_try_goes_on(home: Path) -> None:
    from airflow import DAG
    from airflow.operators.python import PythonOperator

    from conveyor.testing import run_dag

    def broken(context: dict[str, object]) -> None:
        raise RuntimeError("callback broke")

    with DAG("execute_callbacks", schedule=None) as dag:
        PythonOperator(
            task_id="work",
            python_callable=lambda: 7,
            on_execute_callback=broken,
        )
    outcome = run_dag(dag)
    outcome.raise_for_failure()
    assert outcome.xcom("work") == 7
    assert "on_execute_callback" in outcome.tasks["work"].log
    assert "callback broke" in outcome.tasks["work"].log


def test_airflow_3_top_level_asset_is_the_sdk_asset(home: Path) -> None:
    """Airflow 3 gives ``from airflow import Asset`` (a lazy name of its package) as
    ``airflow.sdk.Asset``: a real team's folder imports it so."""
    from airflow import Asset
    from airflow.sdk import Asset as SdkAsset

    assert Asset is SdkAsset
    assert Asset("s3://bucket/raw").uri == "s3://bucket/raw"


HELPER = """
from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator


def executor_config(pod_override=None):
    if pod_override is None:
        return {}
    return {"pod_override": PodGenerator.deserialize_model_dict(pod_override)}
"""

USES_HELPER = """
from airflow import DAG
from airflow.operators.empty import EmptyOperator

from team_config import executor_config

with DAG("{dag_id}", schedule=None):
    EmptyOperator(task_id="t", executor_config=executor_config({override}))
"""


def test_a_helper_importing_a_name_a_shipped_provider_lacks_takes_down_only_its_users(
    home: Path, tmp_path: Path
) -> None:
    """A real team's shared helper imports ``PodGenerator`` (cncf.kubernetes, which Conveyor
    ships with its pod operator only) for some DAGs' ``executor_config``: the DAGs that do not
    use it load, and the one that does fails naming the provider and how to get the name."""
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "team_config.py").write_text(HELPER)
    plain = folder / "plain.py"
    plain.write_text(USES_HELPER.format(dag_id="plain", override="None"))
    with_pod = folder / "with_pod.py"
    with_pod.write_text(USES_HELPER.format(dag_id="with_pod", override="{'spec': {}}"))
    (dag,) = import_dag_file(str(plain), folders=[str(folder)])
    assert dag.dag_id == "plain"
    with pytest.raises(DagImportError) as refused:
        import_dag_file(str(with_pod), folders=[str(folder)])
    message = str(refused.value)
    assert "pod_generator.PodGenerator is not provided by Conveyor" in message
    assert "conveyor providers install apache-airflow-providers-cncf-kubernetes" in message


def test_an_orm_column_read_from_dagrun_or_taskinstance_says_why(home: Path) -> None:
    """The well-known database cleanup DAG reads ``DagRun.execution_date`` and the like
    from the classes at import, to query Airflow's database: refused with the reason."""
    from airflow.models import DagRun, TaskInstance

    for model, column in ((DagRun, "execution_date"), (TaskInstance, "queued_by_job_id")):
        with pytest.raises(AttributeError) as refused:
            getattr(model, column)
        message = str(refused.value)
        assert "is not a model of Airflow's database" in message
        assert "conveyor db clean" in message
    assert getattr(DagRun, "no_such_column", "absent") == "absent"  # as on any class
