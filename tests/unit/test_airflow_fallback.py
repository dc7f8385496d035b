"""Airflow names Conveyor does not implement import, and refuse at first use: stand-ins
usable where files use such names at import, Airflow's session helpers, the real values of
types and constants, and Airflow's configuration defaults.

Pure tests: each installs the hook in this process and removes it afterwards.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor import airflow_compat
from conveyor.airflow_compat import AirflowNameError, AirflowNotProvidedError
from conveyor.exceptions import DagDefinitionError
from conveyor.model.context import DagContext


@pytest.fixture(autouse=True)
def hook(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CONVEYOR_AIRFLOW_COMPAT", raising=False)
    monkeypatch.delenv("AIRFLOW_HOME", raising=False)
    assert airflow_compat.activate() is True
    yield
    airflow_compat.uninstall()
    DagContext.created.clear()


def _run_file(tmp_path: Path, source: str) -> dict[str, object]:
    """Run ``source`` as a file's code (the probe rule reads the importing file)."""
    path = tmp_path / "dag_file.py"
    path.write_text(source)
    namespace: dict[str, object] = {"__name__": "dag_file"}
    exec(compile(source, str(path), "exec"), namespace)
    return namespace


def test_a_stand_in_is_usable_where_files_use_names_at_import(tmp_path: Path) -> None:
    found = _run_file(
        tmp_path,
        "from typing import TYPE_CHECKING\n"
        "from airflow.models import DagModel\n"
        "from airflow.sensors.sql import NoSuchSqlSensor\n"
        "if TYPE_CHECKING:\n"
        "    from airflow.models.dagrun import NoSuchType\n"
        "class TeamSensor(NoSuchSqlSensor):\n"
        "    template_fields = ('sql',)\n"
        "def latest(model: DagModel | None = None, kinds: list[DagModel] = []) -> DagModel:\n"
        "    return model\n"
        "CHECKED = isinstance(object(), DagModel)\n",
    )
    assert found["CHECKED"] is False
    sensor = found["TeamSensor"]
    assert sensor.template_fields == ("sql",)  # type: ignore[attr-defined]  # its own
    with pytest.raises(AirflowNotProvidedError, match=r"airflow\.sensors\.sql\.NoSuchSqlSensor"):
        sensor(task_id="wait")  # type: ignore[operator]
    with pytest.raises(AirflowNotProvidedError, match=r"airflow\.models\.DagModel.*dags pause"):
        found["DagModel"].get_current("etl")  # type: ignore[attr-defined]
    decorator = importlib.import_module("airflow.utils.no_such_helpers").retry_on_deadlock
    with pytest.raises(AirflowNotProvidedError, match="retry_on_deadlock"):

        @decorator
        def helper() -> None: ...

    # The same object each time: isinstance checks across files agree.
    from airflow.models import DagModel

    assert DagModel is found["DagModel"]


def test_a_probe_of_a_module_conveyor_lacks_gets_import_error(tmp_path: Path) -> None:
    found = _run_file(
        tmp_path,
        "try:\n"
        "    import airflow.no_such_package.helpers as helpers\n"
        "    HAS = True\n"
        "except (ModuleNotFoundError, ImportError):\n"
        "    HAS = False\n"
        "from airflow.no_such_package import helpers as plain\n",
    )
    assert found["HAS"] is False
    with pytest.raises(AirflowNotProvidedError, match=r"airflow\.no_such_package\.helpers"):
        found["plain"]()  # type: ignore[operator]


def test_a_provider_module_conveyor_does_not_ship_still_fails_at_import() -> None:
    with pytest.raises(AirflowNameError, match="'databricks' provider"):
        importlib.import_module("airflow.providers.databricks.operators.databricks")


def test_airflows_session_helpers_refuse_only_a_used_session() -> None:
    from airflow import settings
    from airflow.utils.db import create_session as db_create_session
    from airflow.utils.session import NEW_SESSION, create_session, provide_session

    assert db_create_session is create_session and NEW_SESSION is None

    @provide_session
    def count(dag_id: str, session=NEW_SESSION) -> str:  # type: ignore[no-untyped-def]
        if dag_id == "touch":
            return session.query("dag").count()  # type: ignore[no-any-return]
        return dag_id

    assert count("untouched") == "untouched"  # a helper that never queries runs
    with pytest.raises(
        AirflowNotProvidedError, match=r"session\.query\(\).*not Airflow's database"
    ):
        count("touch")
    with create_session() as session:
        session.close()
        with pytest.raises(AirflowNotProvidedError, match=r"Variable\.get"):
            session.commit()
    with pytest.raises(AirflowNotProvidedError, match="REST API"):
        settings.Session().add(object())
    with pytest.raises(TypeError, match="no 'session' parameter"):
        provide_session(lambda: None)


def test_types_and_constants_are_real_values() -> None:
    from airflow.models.base import ID_LEN
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.security import permissions
    from airflow.utils.context import Context
    from airflow.utils.log.logging_mixin import LoggingMixin
    from airflow.utils.types import NOTSET, ArgNotSet, DagRunType
    from airflow.utils.xcom import XCOM_RETURN_KEY

    assert ID_LEN == 250 and XCOM_RETURN_KEY == "return_value"
    assert DagRunType.from_run_id("scheduled__2026-01-01T00:00:00+00:00") is DagRunType.SCHEDULED
    assert DagRunType.MANUAL.generate_run_id(suffix="x") == "manual__x" and str(DagRunType.MANUAL)
    key = TaskInstanceKey("etl", "load", "manual__x")
    assert (
        key.primary == ("etl", "load", "manual__x", -1) and key.with_try_number(2).try_number == 2
    )
    assert isinstance(NOTSET, ArgNotSet) and Context.__origin__ is dict  # type: ignore[attr-defined]
    access = {"team": {permissions.ACTION_CAN_READ, permissions.ACTION_CAN_EDIT}}
    assert access == {"team": {"can_read", "can_edit"}}
    assert permissions.resource_name_for_dag("etl") == "DAG:etl"

    class Loader(LoggingMixin):
        pass

    assert Loader().log.name.endswith("Loader")


def test_airflows_configuration_defaults_where_conveyor_has_no_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow.configuration import conf
    from airflow.exceptions import AirflowConfigException

    assert conf.getint("core", "max_active_tasks_per_dag") == 16
    assert conf.getboolean("scheduler", "catchup_by_default") is False
    assert conf.get("core", "dags_folder").endswith("dags")  # Conveyor's own setting first
    assert conf.get("logging", "simple_log_format").startswith("%(asctime)s")  # ``%%`` read
    monkeypatch.setenv("AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG", "3")
    assert conf.getint("core", "max_active_tasks_per_dag") == 3  # the variable wins
    # Airflow defines ``[core] mp_start_method`` without a default: as on Airflow.
    assert conf.get("core", "mp_start_method", fallback="fork") == "fork"
    with pytest.raises(AirflowConfigException, match=r"\[core\] mp_start_method"):
        conf.get("core", "mp_start_method")


def test_dagbag_refuses_airflows_database_and_dag_test_names_what_it_does_not_take(
    tmp_path: Path,
) -> None:
    from airflow import DAG
    from airflow.models import DagBag

    with pytest.raises(AirflowNotProvidedError, match="read_dags_from_db"):
        DagBag(read_dags_from_db=True)
    empty = DagBag(dag_folder=str(tmp_path), include_examples=False)
    assert empty.size() == 0 and empty.import_errors == {} and empty.get_dag("x") is None
    with pytest.raises(DagDefinitionError, match=r"dag\.test\(conn_file_path=\.\.\.\)"):
        DAG("d", schedule=None).test(conn_file_path="conns.yaml")
