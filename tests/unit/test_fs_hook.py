"""``FSHook``: the folder of a file system connection, on every path Airflow files import it
from, and the same base a ``FileSensor`` on that connection looks under."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_hook_on import assert_paths_give
from conveyor.exceptions import NotFoundError
from conveyor.sensors import FileSensor
from conveyor.sensors.file import FSHook

PATHS = (
    "airflow.hooks.filesystem",
    "airflow.contrib.hooks.fs_hook",
    "airflow.providers.standard.hooks.filesystem",
)


def _fs_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, path: Path) -> None:
    fields = {"conn_type": "fs", "extra": {"path": str(path)}}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def test_every_path_users_import_from_gives_conveyors_hook(airflow_hook: None) -> None:
    assert_paths_give({module: {"FSHook": FSHook} for module in PATHS})


def test_get_path_is_the_folder_the_connection_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    _fs_connection(monkeypatch, "landing", tmp_path)
    hook = FSHook(fs_conn_id="landing")
    assert hook.get_path() == str(tmp_path)
    assert hook.get_conn() is None
    assert hook.test_connection() == (True, "Connection successfully tested")
    # A FileSensor on the same connection looks under the same folder.
    (tmp_path / "orders.csv").write_text("id\n1\n")
    sensor = FileSensor("wait", filepath="orders.csv", fs_conn_id="landing")
    assert sensor.poke({}) == [str(tmp_path / "orders.csv")]


def test_a_missing_default_connection_means_paths_as_given_and_another_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    assert FSHook().get_path() == ""
    with pytest.raises(NotFoundError, match="nowhere"):
        FSHook(fs_conn_id="nowhere")
    _fs_connection(monkeypatch, "gone", tmp_path / "missing")
    ok, message = FSHook(fs_conn_id="gone").test_connection()
    assert not ok and "missing is not a folder" in message
