"""Airflow's local-file secrets backend end to end: ``conveyor run`` of a DAG file in Airflow's
spelling, configured by ``AIRFLOW__SECRETS__*`` alone, reads a connection from a YAML file
and variables from an ``.env`` file, masked in the try's log; a variables file that does not
parse is named in the try's error, and a default still answers, as in Airflow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sql_servers import ended, run_dag_file

pytestmark = pytest.mark.timeout(300)

LOCAL = "airflow.secrets.local_filesystem.LocalFilesystemBackend"

DAG = """
from datetime import datetime

from airflow import DAG
from airflow.hooks.base import BaseHook
from airflow.models import Variable
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator


def read():
    conn = BaseHook.get_connection("files_db")
    print(f"uri={conn.get_uri()} extra={conn.extra_dejson['sslmode']}")
    print(f"default={Variable.get('absent', 'dflt')}")  # a failed backend: the default
    print(f"token={Variable.get('deploy_token')}")
    print(f"region={Variable.get('region')}")


with DAG("files_backend", schedule=None, start_date=datetime(2024, 1, 1)):
    PythonOperator(task_id="read", python_callable=read) >> BashOperator(
        task_id="templated", bash_command="echo pw={{ conn.files_db.password }}"
    )
"""


def _env(conns: Path, variables: Path) -> dict[str, str]:
    return {
        "AIRFLOW__SECRETS__BACKEND": LOCAL,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(
            {"connections_file_path": str(conns), "variables_file_path": str(variables)}
        ),
    }


def _files(tmp_path: Path, variables: str) -> tuple[Path, Path]:
    conns = tmp_path / "connections.yaml"
    conns.write_text(
        "files_db:\n"
        "  conn_type: postgres\n"
        "  host: files.internal\n"
        "  login: etl\n"
        "  password: Files-Pw-6634\n"
        "  schema: dw\n"
        "  extra_dejson: {sslmode: require}\n"
    )
    path = tmp_path / "variables.env"
    path.write_text(variables)
    return conns, path


def test_a_run_reads_the_files_and_masks_the_secrets(tmp_path: Path) -> None:
    conns, variables = _files(tmp_path, "# deploy\ndeploy_token=Files-Tok-1290\nregion=eu-1\n")
    done = run_dag_file(tmp_path, "files_backend.py", DAG, _env(conns, variables))
    output, logs = ended(done, tmp_path, 0)
    assert "uri=postgres://etl:***@files.internal/dw?sslmode=require extra=require" in logs
    assert "default=dflt" in logs and "token=***" in logs and "region=eu-1" in logs
    assert "pw=***" in logs
    for secret in ("Files-Pw-6634", "Files-Tok-1290"):
        assert secret not in output + logs


def test_a_variables_file_that_does_not_parse_is_named(tmp_path: Path) -> None:
    conns, variables = _files(tmp_path, "deploy_token=Files-Tok-1290\nno equals sign\n")
    done = run_dag_file(tmp_path, "files_backend.py", DAG, _env(conns, variables))
    output, logs = ended(done, tmp_path, 1)
    named = f"secrets backend {LOCAL} could not read variable 'deploy_token'"
    assert named in logs, logs
    assert f"{variables}:2: expected KEY=VALUE" in logs
    assert "looking in the environment and the store instead" in logs
    assert "no variable 'deploy_token'" in logs
    assert "default=dflt" in logs
    assert "Files-Tok-1290" not in output + logs  # the error shows no value of the file
