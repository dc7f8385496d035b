"""A try on a real Celery worker reads a connection and a variable from Parameter Store
(moto's server), the worker configured with Airflow's ``AIRFLOW__SECRETS__*`` variables
alone, and its log masks the secrets. Redis DB 10, a queue of its own."""

from __future__ import annotations

import json
import subprocess
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import s3_server
from s3_server import ACCESS_KEY_ID, ISOLATED, REGION, SECRET_ACCESS_KEY

from celery_workers import celery_settings, require_redis, run_on_celery, start_worker, worker_env
from conveyor.config import Settings
from conveyor.loading.processor import DagFileProcessor
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run
from conveyor.worker.runner import log_path_for
from store_reads import task_states

# moto's server (every AWS API it fakes), once for the module.
aws_endpoint = s3_server.s3_endpoint

BROKER = "redis://127.0.0.1:6379/10"
QUEUE = "secrets_q"
WORKER_NAME = "secrets@test"
PREFIX = f"/t{uuid.uuid4().hex[:10]}"

DAG_FILE = """
    from datetime import datetime

    from airflow import DAG
    from airflow.hooks.base import BaseHook
    from airflow.models import Variable
    from airflow.operators.bash import BashOperator
    from airflow.operators.python import PythonOperator


    def read():
        conn = BaseHook.get_connection("ledger")
        print(f"ledger={conn.get_uri()} login={conn.login}")
        print(f"key={Variable.get('ledger_api_key')} batch={Variable.get('batch_size')}")


    with DAG("backend_on_celery", schedule=None, start_date=datetime(2024, 1, 1),
             default_args={"queue": "@QUEUE@"}):
        PythonOperator(task_id="read", python_callable=read) >> BashOperator(
            task_id="templated",
            bash_command="echo pw={{ conn.ledger.password }} batch={{ var.value.batch_size }}",
        )
"""


@pytest.fixture
def settings(tmp_path: Path, pg_database_url: str) -> Iterator[Settings]:
    require_redis()
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "backend_on_celery.py").write_text(textwrap.dedent(DAG_FILE.replace("@QUEUE@", QUEUE)))
    yield celery_settings(tmp_path, dags, pg_database_url, BROKER)


@pytest.fixture
def worker_process(
    tmp_path: Path, settings: Settings, aws_endpoint: str
) -> Iterator[subprocess.Popen[bytes]]:
    kwargs = {
        "connections_prefix": f"{PREFIX}/connections",
        "variables_prefix": f"{PREFIX}/variables",
        "endpoint_url": aws_endpoint,
        "region_name": REGION,
        "aws_access_key_id": ACCESS_KEY_ID,
        "aws_secret_access_key": SECRET_ACCESS_KEY,
    }
    env = worker_env(
        settings,
        BROKER,
        **ISOLATED,
        AIRFLOW__SECRETS__BACKEND=(
            "airflow.providers.amazon.aws.secrets.systems_manager."
            "SystemsManagerParameterStoreBackend"
        ),
        AIRFLOW__SECRETS__BACKEND_KWARGS=json.dumps(kwargs),
    )
    log = tmp_path / "worker.log"
    with start_worker(
        QUEUE, WORKER_NAME, env, log, db_url=settings.db_url, at_once=True
    ) as process:
        yield process


def test_a_celery_try_reads_parameter_store_and_masks_its_secrets(
    tmp_path: Path, settings: Settings, aws_endpoint: str, worker_process: subprocess.Popen[bytes]
) -> None:
    ssm = boto3.client(
        "ssm",
        endpoint_url=aws_endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )
    ssm.put_parameter(
        Name=f"{PREFIX}/connections/ledger",
        Value="postgresql://ledger_app:Celery-Pw-5521@ledger.internal:5432/books",
        Type="SecureString",
    )
    ssm.put_parameter(
        Name=f"{PREFIX}/variables/ledger_api_key", Value="Celery-Key-9043", Type="SecureString"
    )
    ssm.put_parameter(Name=f"{PREFIX}/variables/batch_size", Value="777", Type="String")
    store = Store(settings.db_url)
    try:
        DagFileProcessor(store, settings.dags_path, timeout=20, scan_every=60).sync()
        run_pk = run_on_celery(settings, store, "backend_on_celery", tmp_path / "worker.log")
        with store.read() as conn:
            states = task_states(conn, run_pk)
            run_id = conn.execute(
                dag_run.select().with_only_columns(dag_run.c.run_id).where(dag_run.c.id == run_pk)
            ).scalar()
    finally:
        store.dispose()
    assert states == {"read": "success", "templated": "success"}, (
        tmp_path / "worker.log"
    ).read_text()[-3000:]
    read = log_path_for(settings, "backend_on_celery", run_id, "read", 1).read_text()
    assert "ledger=postgres://ledger_app:***@ledger.internal:5432/books" in read, read
    assert "login=ledger_app" in read and "key=*** batch=777" in read, read
    templated = log_path_for(settings, "backend_on_celery", run_id, "templated", 1).read_text()
    assert "pw=*** batch=777" in templated, templated
    for secret in ("Celery-Pw-5521", "Celery-Key-9043"):
        assert secret not in read + templated
