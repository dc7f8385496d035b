"""The Airflow import hook: resolution through the table, the setting, and a real Airflow.

Pure tests: each installs the hook (or not) in this process and removes it afterwards, so no
``airflow`` module leaks into other tests.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import conveyor
from conveyor import airflow_compat
from conveyor.airflow_compat import AirflowNameError, AirflowNotProvidedError, table
from conveyor.exceptions import DagDefinitionError
from conveyor.loading.processor import find_dag_files


@pytest.fixture
def real_airflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A stand-in for an Airflow installed in site-packages: a package that says it is real."""
    site = tmp_path / "site"
    (site / "airflow" / "operators").mkdir(parents=True)
    (site / "airflow" / "__init__.py").write_text("REAL = True\n")
    (site / "airflow" / "operators" / "__init__.py").write_text("")
    (site / "airflow" / "operators" / "bash.py").write_text("class BashOperator:\n    REAL = 1\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    yield site
    for name in [n for n in sys.modules if n == "airflow" or n.startswith("airflow.")]:
        del sys.modules[name]


def test_names_resolve_to_conveyor_objects(airflow_hook: None) -> None:
    from airflow import DAG
    from airflow.operators.bash import BashOperator
    from airflow.operators.dummy_operator import DummyOperator
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.utils.trigger_rule import TriggerRule

    assert issubclass(DAG, conveyor.DAG)
    assert issubclass(BashOperator, conveyor.BashOperator)
    assert issubclass(DummyOperator, conveyor.EmptyOperator)
    assert issubclass(PythonOperator, conveyor.PythonOperator)
    assert TriggerRule is conveyor.TriggerRule
    assert BashOperator.__name__ == "BashOperator"  # graphs and logs read the same


def test_airflow_keywords_are_taken_with_their_meaning(airflow_hook: None) -> None:
    from airflow import DAG
    from airflow.operators.bash import BashOperator

    with DAG("kw", schedule_interval="@hourly", default_args={"provide_context": True}) as dag:
        quiet = BashOperator(task_id="quiet", bash_command="true", do_xcom_push=False)
        legacy = BashOperator(task_id="legacy", bash_command="true", xcom_push=False)
    assert dag.schedule == conveyor.DAG("kw2", schedule="@hourly").schedule
    assert quiet.do_xcom_push is False
    assert legacy.do_xcom_push is False  # Airflow 1.10's spelling
    with pytest.raises(DagDefinitionError, match="keep schedule="):
        DAG("both", schedule="@daily", schedule_interval="@daily")
    # Airflow 2's timetable= is schedule= too: a timetable object, kept as it is.
    from airflow.timetables.trigger import CronTriggerTimetable

    daily = CronTriggerTimetable("0 1 * * *", timezone="UTC")
    assert DAG("tt", timetable=daily).schedule is daily
    with pytest.raises(DagDefinitionError, match="both schedule= and timetable="):
        DAG("tt2", schedule="@daily", timetable=daily)


def test_airflow_2_dag_defaults_to_daily_and_airflow_3_to_none(airflow_hook: None) -> None:
    from datetime import timedelta

    from airflow import DAG
    from airflow.sdk import DAG as SdkDAG

    assert DAG("two").schedule == conveyor.DAG("d", schedule=timedelta(days=1)).schedule
    assert SdkDAG("three").schedule == conveyor.DAG("n").schedule


def test_an_unsupported_provider_fails_at_import_with_the_name_and_the_docs(
    airflow_hook: None,
) -> None:
    with pytest.raises(AirflowNameError) as caught:
        importlib.import_module("airflow.providers.snowflake.operators.snowflake")
    message = str(caught.value)
    assert "airflow.providers.snowflake" in message
    assert "not provided by Conveyor" in message and "'snowflake' provider" in message
    assert table.DOCS in message


def test_an_unknown_name_imports_and_refuses_at_use_with_what_and_where(
    airflow_hook: None,
) -> None:
    namespace: dict[str, object] = {}
    exec("from airflow.operators.python import NoSuchOperator", namespace)
    with pytest.raises(
        AirflowNotProvidedError,
        match=r"airflow\.operators\.python\.NoSuchOperator.*docs/airflow\.md",
    ):
        namespace["NoSuchOperator"](task_id="t")  # type: ignore[operator]
    exec("from airflow.operators.subdag import SubDagOperator", namespace)
    with pytest.raises(AirflowNotProvidedError, match="use a TaskGroup"):
        namespace["SubDagOperator"](task_id="t")  # type: ignore[operator]


def test_a_probe_for_a_name_conveyor_lacks_gets_import_error(
    airflow_hook: None, tmp_path: Path
) -> None:
    """``try: from airflow.x import Y / except ImportError:`` takes its fallback."""
    namespace: dict[str, object] = {}
    source = (
        "try:\n"
        "    from airflow.operators.python import NoSuchOperator as Found\n"
        "except ImportError:\n"
        "    from airflow.operators.python import PythonOperator as Found\n"
    )
    probe = tmp_path / "probe.py"  # the hook reads the probing file's syntax
    probe.write_text(source)
    exec(compile(source, str(probe), "exec"), namespace)
    assert issubclass(namespace["Found"], conveyor.PythonOperator)  # type: ignore[arg-type]


def test_a_target_missing_from_conveyor_fails_only_when_imported(
    airflow_hook: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(table.MODULES, "airflow.operators.later", {"Later": "conveyor:NotYet"})
    module = importlib.import_module("airflow.operators.later")  # the module itself loads
    with pytest.raises(
        ImportError,
        match=r"airflow\.operators\.later\.Later maps to "
        r"conveyor\.NotYet, which this installation of Conveyor does not have",
    ):
        module.Later  # noqa: B018


def test_the_setting_turns_the_hook_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CONVEYOR_AIRFLOW_COMPAT", "false")
    assert airflow_compat.activate() is False
    assert not airflow_compat.is_installed()
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("airflow.operators.bash")


def test_the_setting_is_read_again_when_its_file_or_variable_changes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """It is asked before every DAG import and kept between; an edit must still count."""
    home = tmp_path / "home"
    home.mkdir()
    config = home / "conveyor.toml"
    monkeypatch.setenv("CONVEYOR_HOME", str(home))
    monkeypatch.delenv("CONVEYOR_AIRFLOW_COMPAT", raising=False)
    assert airflow_compat.enabled() is True  # the default, no file

    config.write_text("airflow_compat = false\n")
    assert airflow_compat.enabled() is False
    config.write_text("airflow_compat = true\n")
    stamp = config.stat().st_mtime_ns + 1_000_000  # a rewrite within the clock's tick
    os.utime(config, ns=(stamp, stamp))
    assert airflow_compat.enabled() is True
    monkeypatch.setenv("CONVEYOR_AIRFLOW_COMPAT", "false")
    assert airflow_compat.enabled() is False


def test_a_real_airflow_is_used_when_the_hook_is_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, real_airflow: Path
) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CONVEYOR_AIRFLOW_COMPAT", "0")
    airflow_compat.activate()
    assert importlib.import_module("airflow").REAL is True


def test_a_real_airflow_never_shadows_the_hook(
    airflow_hook: None, real_airflow: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    airflow_compat.uninstall()
    assert importlib.import_module("airflow.operators.bash").BashOperator.REAL == 1
    airflow_compat.install()  # imported before the hook: those modules are dropped
    from airflow.operators.bash import BashOperator

    assert issubclass(BashOperator, conveyor.BashOperator)
    assert "REAL" not in vars(importlib.import_module("airflow"))


def test_airflow_files_are_scanned_only_with_the_setting_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    (tmp_path / "dags").mkdir()
    dag_file = tmp_path / "dags" / "old.py"
    dag_file.write_text("from airflow import DAG\nDAG('old')\n")
    (tmp_path / "dags" / "helper.py").write_text("def helper():\n    return 1\n")
    monkeypatch.setenv("CONVEYOR_AIRFLOW_COMPAT", "true")
    assert find_dag_files(tmp_path / "dags") == [dag_file]
    monkeypatch.setenv("CONVEYOR_AIRFLOW_COMPAT", "false")
    assert find_dag_files(tmp_path / "dags") == []


def test_days_ago_and_helpers(airflow_hook: None) -> None:
    from datetime import UTC, datetime, timedelta

    from airflow.macros import ds_add, ds_format
    from airflow.utils.dates import days_ago

    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert days_ago(2) == midnight - timedelta(days=2)
    assert ds_add("2026-01-05", -2) == "2026-01-03"
    assert ds_format("2026-01-05", "%Y-%m-%d", "%d/%m/%Y") == "05/01/2026"


def test_an_operator_keyword_conveyor_lacks_names_itself(airflow_hook: None) -> None:
    from airflow import DAG
    from airflow.operators.bash import BashOperator

    with (
        DAG("kw3"),
        pytest.raises(
            DagDefinitionError,
            match=r"task 'b': Conveyor's "
            r"BashOperator does not take output_encoding=",
        ),
    ):
        BashOperator(task_id="b", bash_command="true", output_encoding="utf-8")


def test_task_functions_take_airflow_operator_keywords(airflow_hook: None) -> None:
    from airflow.decorators import dag, task
    from airflow.operators.bash import BashOperator
    from airflow.sdk import Asset

    @dag(schedule=None)
    def shown() -> None:
        @task(task_display_name="Nice name", inlets=[], email="a@example.com")
        def work() -> int:
            return 1

        @task.branch(task_display_name="Pick")
        def pick() -> str:
            return "work"

        pick() >> work()
        BashOperator(
            task_id="js", bash_command="echo {}", multiple_outputs=True, output_processor=len
        )

    built = shown()
    assert built.task_dict["work"].on_failure_callback  # email= became the mail callback
    assert built.task_dict["js"].multiple_outputs is True
    assert built.task_dict["pick"].is_branch
    assert Asset(name="orders", uri="s3://b/orders").uri == "s3://b/orders"


def test_task_bash_runs_the_command_its_function_returns(
    airflow_hook: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import datetime

    from airflow.decorators import dag, task

    from conveyor.testing import run_dag

    @dag(schedule=None)
    def shell() -> None:
        @task.bash(env={"WHO": "{{ params.who }}"}, params={"who": "ops"})
        def greet(word: str) -> str:
            return f"echo {word} $WHO on {{{{ ds }}}}"

        @task.bash
        def skip_me() -> str:
            return "exit 99"

        greet("hello")
        skip_me()

    result = run_dag(shell(), logical_date=datetime(2026, 1, 2))
    assert result.xcom("greet") == "hello ops on 2026-01-02"
    assert result.task_state("skip_me") == "skipped"


def test_a_users_operator_with_its_own_first_argument_maps(airflow_hook: None) -> None:
    from airflow import DAG
    from airflow.models import BaseOperator

    from conveyor.testing import run_dag

    class AddOne(BaseOperator):
        def __init__(self, value, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(**kwargs)
            self.value = value

        def execute(self, context):  # type: ignore[no-untyped-def]
            return self.value + 1

    class Total(BaseOperator):
        template_fields = ("values",)

        def __init__(self, values, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(**kwargs)
            self.values = values

        def execute(self, context):  # type: ignore[no-untyped-def]
            return sum(self.values)

    with DAG("mapped_own", schedule=None) as dag:
        added = AddOne.partial(task_id="add").expand(value=[1, 2, 3])
        Total(task_id="total", values=added.output)
    assert dag.task_dict["total"].upstream_task_ids == {"add"}
    assert run_dag(dag).xcom("total") == 9


def test_date_branches_follow_the_logical_date(airflow_hook: None) -> None:
    from datetime import datetime, time

    from airflow import DAG
    from airflow.operators.empty import EmptyOperator
    from airflow.providers.standard.operators.datetime import BranchDateTimeOperator
    from airflow.providers.standard.operators.weekday import BranchDayOfWeekOperator
    from airflow.providers.standard.sensors.external_task import ExternalTaskMarker
    from airflow.providers.standard.utils.weekday import WeekDay

    from conveyor.testing import run_dag

    with DAG("when", schedule=None) as dag:
        by_time = BranchDateTimeOperator(
            task_id="by_time",
            use_task_logical_date=True,
            target_lower=time(22),
            target_upper=time(2),
            follow_task_ids_if_true="night",
            follow_task_ids_if_false=["day"],
        )
        by_day = BranchDayOfWeekOperator(
            task_id="by_day",
            use_task_logical_date=True,
            week_day={WeekDay.SATURDAY, "sunday"},
            follow_task_ids_if_true="weekend",
            follow_task_ids_if_false="weekday",
        )
        by_time >> [EmptyOperator(task_id="night"), EmptyOperator(task_id="day")]
        by_day >> [EmptyOperator(task_id="weekend"), EmptyOperator(task_id="weekday")]
        ExternalTaskMarker(task_id="mark", external_dag_id="x", external_task_id="y")
    saturday_night = run_dag(dag, logical_date=datetime(2026, 3, 7, 23, 30))
    assert saturday_night.task_state("night") == "success"
    assert saturday_night.task_state("day") == "skipped"
    assert saturday_night.task_state("weekend") == "success"
    assert saturday_night.task_state("mark") == "success"
    monday_noon = run_dag(dag, logical_date=datetime(2026, 3, 9, 12))
    assert monday_noon.task_state("night") == "skipped"
    assert monday_noon.task_state("weekday") == "success"


def test_task_variants_build_on_the_conveyor_class_of_that_name(airflow_hook: None) -> None:
    from airflow.decorators import dag, task

    with pytest.raises(AttributeError, match=r"@task\.kubernetes is not provided by Conveyor"):
        task.kubernetes  # noqa: B018

    @dag(schedule=None)
    def variants() -> None:
        @task.sensor(poke_interval=1, timeout=5)
        def ready() -> bool:
            return True

        @task.short_circuit
        def go_on() -> bool:
            return True

        @task.sensor(email_on_retry=False)  # an Airflow keyword the sensor takes as Airflow does
        def plain() -> bool:
            return True

        ready() >> go_on() >> plain()

    built = variants()
    assert type(built.task_dict["ready"]).__mro__[1] is conveyor.PythonSensor
    assert type(built.task_dict["go_on"]).__mro__[1] is conveyor.ShortCircuitOperator
    assert type(built.task_dict["plain"]).__mro__[1] is conveyor.PythonSensor


def test_every_target_in_the_table_resolves() -> None:
    missing = []
    for module, names in table.MODULES.items():
        for name, target in names.items():
            module_name, _, attribute = target.partition(":")
            if not hasattr(importlib.import_module(module_name), attribute):
                missing.append(f"{module}.{name} -> {target}")
    assert missing == []
