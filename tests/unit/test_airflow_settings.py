"""Airflow's ``AIRFLOW__SECTION__KEY`` variables set the settings Conveyor shares with
Airflow (``CONVEYOR_*`` wins), and the ones Conveyor does not honour are named in one
warning per process."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from conveyor import airflow_settings
from conveyor.config import load_config
from conveyor.exceptions import ConfigError


@pytest.fixture(autouse=True)
def _fresh_warnings() -> None:
    airflow_settings._warned.clear()


def test_airflow_variables_set_the_same_settings(tmp_path: Path) -> None:
    loaded = load_config(
        {
            "CONVEYOR_HOME": str(tmp_path),
            "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "airflow-dags"),
            "AIRFLOW__CORE__PARALLELISM": "3",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "45",
            "AIRFLOW__CELERY__BROKER_URL": "redis://broker:6379/3",
        }
    )
    s = loaded.settings
    assert s.dags_path == (tmp_path / "airflow-dags").resolve()
    assert (s.parallelism, s.dags_are_paused_at_creation, s.executor) == (3, False, "celery")
    assert (s.min_file_process_interval, s.broker_url) == (45.0, "redis://broker:6379/3")
    assert loaded.sources["parallelism"] == "env AIRFLOW__CORE__PARALLELISM"


def test_the_schedulers_per_loop_bounds_are_airflows_and_read_through_conf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conveyor.airflow_compat.configuration import conf

    defaults = load_config({"CONVEYOR_HOME": str(tmp_path)}).settings
    assert (defaults.max_dagruns_to_create_per_loop, defaults.max_dagruns_per_loop_to_schedule) == (
        10,
        20,
    )
    environ = {
        "CONVEYOR_HOME": str(tmp_path),
        "AIRFLOW__SCHEDULER__MAX_DAGRUNS_TO_CREATE_PER_LOOP": "3",
        "AIRFLOW__SCHEDULER__MAX_DAGRUNS_PER_LOOP_TO_SCHEDULE": "7",
    }
    s = load_config(environ).settings
    assert (s.max_dagruns_to_create_per_loop, s.max_dagruns_per_loop_to_schedule) == (3, 7)
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path))
    monkeypatch.setenv("CONVEYOR_MAX_DAGRUNS_TO_CREATE_PER_LOOP", "4")
    assert conf.getint("scheduler", "max_dagruns_to_create_per_loop") == 4
    assert conf.getint("scheduler", "max_dagruns_per_loop_to_schedule") == 20


def test_conveyor_variables_win_and_the_file_loses(tmp_path: Path) -> None:
    (tmp_path / "conveyor.toml").write_text("parallelism = 2\nmin_file_process_interval = 5\n")
    loaded = load_config(
        {
            "CONVEYOR_HOME": str(tmp_path),
            "CONVEYOR_PARALLELISM": "7",
            "AIRFLOW__CORE__PARALLELISM": "3",
            "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "60",
        }
    )
    assert loaded.settings.parallelism == 7
    assert loaded.sources["parallelism"] == "env CONVEYOR_PARALLELISM"
    assert loaded.settings.min_file_process_interval == 60.0


def test_a_bad_airflow_value_names_its_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"parallelism.*env AIRFLOW__CORE__PARALLELISM"):
        load_config({"CONVEYOR_HOME": str(tmp_path), "AIRFLOW__CORE__PARALLELISM": "many"})


def test_variables_not_honoured_are_named_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {
        "CONVEYOR_HOME": str(tmp_path),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "True",
        "AIRFLOW__CORE__EXECUTOR": "LocalKubernetesExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW_CONN_WAREHOUSE": "postgres://h/db",  # a connection: read as one, not a setting
        "AIRFLOW__PIPELINE__TEAM": "analytics",  # a team's own section, read through conf
        "AIRFLOW__SMTP__SMTP_MAIL_FROM": "a@example.com",  # the e-mail sender reads it
    }
    with caplog.at_level(logging.WARNING, logger="conveyor.config"):
        loaded = load_config(env)
        load_config(env)
    warnings = [r.getMessage() for r in caplog.records if r.name == "conveyor.config"]
    assert len(warnings) == 1
    assert "AIRFLOW__CORE__EXECUTOR, AIRFLOW__CORE__LOAD_EXAMPLES." in warnings[0]
    for honoured in ("AIRFLOW_CONN_WAREHOUSE", "PIPELINE", "SMTP_MAIL_FROM"):
        assert honoured not in warnings[0]
    assert loaded.settings.executor == "local"  # an executor Conveyor has not: not taken
