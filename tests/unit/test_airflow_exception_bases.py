"""Airflow's task-ending exceptions (and the providers' failures Airflow raises as its own)
are AirflowExceptions, as in Airflow, so a DAG file's ``except AirflowException`` catches
them; a sensor's timeout ends the try for good."""

from __future__ import annotations

import pytest

from conveyor.exceptions import AirflowException, Fail, Skip
from conveyor.providers.docker.operator import DockerContainerFailedError
from conveyor.providers.spark.hook import SparkSubmitError
from conveyor.sensors import SensorTimeout


@pytest.mark.parametrize(
    "cls", [Skip, Fail, SensorTimeout, SparkSubmitError, DockerContainerFailedError]
)
def test_task_ending_exceptions_are_airflow_exceptions(cls: type[Exception]) -> None:
    assert issubclass(cls, AirflowException)
    with pytest.raises(AirflowException):
        raise cls("caught as Airflow's root error")


def test_a_sensor_timeout_fails_without_retries() -> None:
    """The runner fails a try at once for a ``Fail`` (worker/runner.py, ``fail_now``)."""
    assert issubclass(SensorTimeout, Fail)
