"""The seed pipeline "DAGs generated from a YAML config that load CSV files from S3 into a
database over JDBC", end to end: an Airflow user's DAG file reads a .yaml beside it and
makes one DAG per entry, each loading a CSV from S3 (moto's server) into PostgreSQL through
the JDBC driver with S3ToSqlOperator, then checking the table. ``conveyor run`` runs each
generated DAG; the test then reads what arrived in PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import psycopg
import pytest
import s3_server
import sql_servers
from s3_server import ISOLATED, aws_uri, bucket_name, client
from sql_servers import CONVEYOR, pg_rows, unique

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

s3_endpoint = s3_server.s3_endpoint
pg_sql_url = sql_servers.pg_sql_url

JAR = "/usr/share/java/postgresql.jar"

CONFIG = """\
# One DAG per load: where the file is, which table it goes to, what must hold after.
connection: warehouse_jdbc
bucket: @BUCKET@
loads:
  - name: customers
    key: raw/customers.csv
    table: @CUSTOMERS@
    create: CREATE TABLE IF NOT EXISTS @CUSTOMERS@ (id int, name text, joined date)
    columns: [id, name, joined]
    checks:
      all_rows: {check_statement: "COUNT(*) = 3"}
      named: {check_statement: "name IS NOT NULL"}
  - name: orders
    key: "raw/orders/{{ dag_run.conf['day'] }}.csv"
    table: @ORDERS@
    create: CREATE TABLE IF NOT EXISTS @ORDERS@ (id int, customer int, amount numeric)
    columns: [id, customer, amount]
    checks:
      positive: {check_statement: "amount > 0"}
"""

DAG_FILE = '''
"""Loads generated from pipelines.yaml: one DAG per entry."""
import csv
import os
from datetime import datetime

import yaml
from airflow import DAG
from airflow.providers.amazon.aws.transfers.s3_to_sql import S3ToSqlOperator
from airflow.providers.common.sql.operators.sql import (
    SQLExecuteQueryOperator,
    SQLTableCheckOperator,
)


def parse_csv(filepath):
    with open(filepath, newline="") as file:
        rows = csv.reader(file)
        next(rows)  # the header
        yield from rows


with open(os.path.join(os.path.dirname(__file__), "pipelines.yaml")) as f:
    CONFIG = yaml.safe_load(f)

for load in CONFIG["loads"]:
    with DAG(
        dag_id=f"load_{load['name']}",
        start_date=datetime(2024, 1, 1),
        schedule="@daily",
        catchup=False,
        tags=["yaml"],
    ) as dag:
        create = SQLExecuteQueryOperator(
            task_id="create_table", conn_id=CONFIG["connection"], sql=load["create"]
        )
        to_sql = S3ToSqlOperator(
            task_id="load_csv",
            s3_bucket=CONFIG["bucket"],
            s3_key=load["key"],
            table=load["table"],
            column_list=load["columns"],
            parser=parse_csv,
            sql_conn_id=CONFIG["connection"],
            aws_conn_id="lake",
        )
        check = SQLTableCheckOperator(
            task_id="check_table",
            conn_id=CONFIG["connection"],
            table=load["table"],
            checks=load["checks"],
        )
        create >> to_sql >> check
    globals()[dag.dag_id] = dag
'''


def test_yaml_generated_dags_load_s3_csvs_into_postgres_over_jdbc(
    tmp_path: Path, s3_endpoint: str, pg_sql_url: str
) -> None:
    if not os.path.exists(JAR):
        pytest.fail(f"{JAR} is missing (scripts/services.sh ensure_postgresql_jdbc)")
    bucket = bucket_name()
    customers, orders = unique("customers"), unique("orders")
    s3 = client(s3_endpoint)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(
        Bucket=bucket,
        Key="raw/customers.csv",
        Body=b"id,name,joined\n1,Ada,2024-01-02\n2,Grace,2024-02-03\n3,Linus,2024-03-04\n",
    )
    s3.put_object(
        Bucket=bucket, Key="raw/orders/2024-07-01.csv", Body=b"id,customer,amount\n7,1,19.90\n"
    )

    folder = tmp_path / "dags"
    folder.mkdir()
    config = CONFIG.replace("@BUCKET@", bucket).replace("@CUSTOMERS@", customers)
    (folder / "pipelines.yaml").write_text(config.replace("@ORDERS@", orders))
    (folder / "yaml_loads.py").write_text(textwrap.dedent(DAG_FILE))

    info = psycopg.conninfo.conninfo_to_dict(pg_sql_url)
    jdbc = {
        "conn_type": "jdbc",
        "host": f"jdbc:postgresql://127.0.0.1:{info.get('port', 5432)}/{info['dbname']}"
        "?stringtype=unspecified",
        "login": info.get("user", "postgres"),
        "password": info.get("password", ""),
        # The driver named by the connection, which the settings below allow.
        "extra": {"placeholder": "?", "driver_class": "org.postgresql.Driver", "driver_path": JAR},
    }
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "CONVEYOR_"))}
    env = {
        **clean,
        **ISOLATED,
        "CONVEYOR_HOME": str(tmp_path / "home"),
        "AIRFLOW_CONN_LAKE": aws_uri(s3_endpoint),
        "AIRFLOW_CONN_WAREHOUSE_JDBC": json.dumps(jdbc),
        "CONVEYOR_PROVIDERS_JDBC_ALLOW_DRIVER_CLASS_IN_EXTRA": "true",
        "AIRFLOW__PROVIDERS_JDBC__ALLOW_DRIVER_PATH_IN_EXTRA": "True",
    }
    for dag_id, conf in (("load_customers", {}), ("load_orders", {"day": "2024-07-01"})):
        done = subprocess.run(
            [CONVEYOR, "run", str(folder / "yaml_loads.py"), dag_id, "--conf", json.dumps(conf)],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        logs = "".join(p.read_text() for p in (tmp_path / "home").rglob("try-*.log"))
        assert done.returncode == 0, done.stdout + done.stderr + logs

    assert pg_rows(pg_sql_url, f"SELECT id, name, joined::text FROM {customers} ORDER BY id") == [
        (1, "Ada", "2024-01-02"),
        (2, "Grace", "2024-02-03"),
        (3, "Linus", "2024-03-04"),
    ]
    assert pg_rows(pg_sql_url, f"SELECT id, customer, amount::text FROM {orders}") == [
        (7, 1, "19.90")
    ]
