"""``airflow``'s arguments as Conveyor's command line takes them: pure translation."""

from __future__ import annotations

import pytest

from conveyor.cli.airflow_command import Refused, conveyor_arguments


@pytest.mark.parametrize(
    ("airflow", "conveyor"),
    [
        (["dags", "trigger", "etl", "-c", "{}"], ["dags", "trigger", "etl", "-c", "{}"]),
        (["celery", "worker", "-q", "a", "-H", "w1"], ["worker", "-q", "a", "--hostname", "w1"]),
        (["celery", "worker", "--celery-hostname=w1"], ["worker", "--hostname=w1"]),
        (["celery", "flower"], ["flower"]),
        (["api-server", "-p", "9090", "-H", "::"], ["web", "--port", "9090", "--host", "::"]),
        (["webserver", "--port", "8081"], ["web", "--port", "8081"]),
        (["db", "upgrade"], ["db", "migrate"]),
        (["db", "clean", "--clean-before-timestamp", "2024-01-01", "-y"],
         ["db", "clean", "--clean-before-timestamp", "2024-01-01", "-y"]),
        ([], []),
    ],
)  # fmt: skip
def test_airflows_commands_become_conveyors(airflow: list[str], conveyor: list[str]) -> None:
    assert conveyor_arguments(airflow) == conveyor


def test_a_command_without_a_counterpart_is_refused_with_the_reason() -> None:
    with pytest.raises(Refused, match="airflow dag-processor: Conveyor's scheduler parses"):
        conveyor_arguments(["dag-processor", "--subdir", "x"])
    with pytest.raises(Refused, match="SIGTERM"):
        conveyor_arguments(["celery", "stop"])
