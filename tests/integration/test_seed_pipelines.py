"""The seeds' own pipelines, end to end, each as an Airflow user writes it and run with
``conveyor run``, checked on what arrived where it goes:

- "DAGs generated from a YAML config that load CSV files from S3 into a database over
  JDBC": a DAG file reads a .yaml beside it and makes one DAG per entry, each loading a CSV
  from S3 (moto's server) into PostgreSQL through the JDBC driver with S3ToSqlOperator.
- "BigQuery -> Cloud Storage -> S3 -> Spark -> PostgreSQL, with SQL checks at the end"
  (bqemulator and gcp-storage-emulator, moto, pyspark's spark-submit: the suite's one real
  Spark job).
- "a production install with the postgres, gcp_api, samba, s3 and slack extras": one DAG
  using those providers together (PostgreSQL -> Cloud Storage -> SMB share and S3 -> Slack).

One server of each kind serves the whole module.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import http_servers
import psycopg
import pytest
import s3_server
import smb_servers
import sql_servers
from gcp_servers import PROJECT, GcpEmulators, gcp, gcp_uri
from http_servers import Answer, Recorder, Seen
from s3_server import ISOLATED, aws_uri, bucket_contents, bucket_name, client
from smb_servers import SmbServer
from sql_servers import CONVEYOR, ended, pg_rows, run_dag_file, unique

import conveyor.testing  # noqa: F401  (activates Airflow's module paths for in-process tests)

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

# The servers' fixtures, one of each for the module, used by name below.
s3_endpoint = s3_server.s3_endpoint
pg_sql_url = sql_servers.pg_sql_url
smb_server = smb_servers.smb_server
gcp_emulators = gcp

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


# -- BigQuery -> Cloud Storage -> S3 -> Spark -> PostgreSQL, with SQL checks at the end ------

SPARK_APP = """\
import sys

from pyspark.sql import SparkSession
from pyspark.sql.functions import col, lit, upper

day, csv_path, url, table = sys.argv[1:5]
spark = SparkSession.builder.getOrCreate()
frame = spark.read.option("header", True).option("inferSchema", True).csv(csv_path)
frame = frame.select(upper(col("region")).alias("region"), "total", "orders")
frame = frame.withColumn("day", lit(day))
frame.write.jdbc(url, table, mode="append",
                 properties={"user": "postgres", "driver": "org.postgresql.Driver",
                             "stringtype": "unspecified"})
print(f"loaded {frame.count()} rows for {day}", flush=True)
spark.stop()
"""

SPARK_DAG = '''
"""Orders loaded into BigQuery are summed per region by a query job, exported to Cloud
Storage as CSV, copied to S3, fetched to a local folder, and a Spark job writes them into
PostgreSQL over JDBC; SQL checks end the run."""
import os
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.s3 import S3CreateBucketOperator
from airflow.providers.amazon.aws.transfers.gcs_to_s3 import GCSToS3Operator
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.providers.common.sql.operators.sql import (
    SQLCheckOperator,
    SQLColumnCheckOperator,
    SQLExecuteQueryOperator,
    SQLValueCheckOperator,
)
from airflow.providers.google.cloud.operators.bigquery import (
    BigQueryCreateEmptyDatasetOperator,
    BigQueryInsertJobOperator,
)
from airflow.providers.google.cloud.transfers.bigquery_to_gcs import BigQueryToGCSOperator
from airflow.providers.google.cloud.transfers.gcs_to_bigquery import GCSToBigQueryOperator

PROJECT, DATASET, BUCKET = "@PROJECT@", "@DATASET@", "@BUCKET@"
S3_BUCKET, TABLE, LANDING = "@S3_BUCKET@", "@TABLE@", "@LANDING@"
JDBC_URL = "@JDBC_URL@"
HERE = os.path.dirname(__file__)


def fetch(ds, params):
    # s3a:// needs hadoop-aws; Spark reads a local copy instead.
    path = S3Hook(aws_conn_id="lake").download_file(
        key="landing/totals.csv", bucket_name=S3_BUCKET, local_path=LANDING,
        preserve_file_name=True, use_autogenerated_subdir=False,
    )
    print("fetched", path)


with DAG("seed_bq_to_spark", start_date=datetime(2024, 1, 1), schedule=None, catchup=False,
         params={"day": "2024-06-30", "min_amount": 1}):
    dataset = BigQueryCreateEmptyDatasetOperator(task_id="dataset", dataset_id=DATASET)
    orders = GCSToBigQueryOperator(
        task_id="orders",
        bucket=BUCKET,
        source_objects=["raw/orders.csv"],
        destination_project_dataset_table=f"{DATASET}.orders",
        schema_fields=[{"name": "region", "type": "STRING"},
                       {"name": "amount", "type": "INTEGER"}],
        skip_leading_rows=1,
    )
    totals = BigQueryInsertJobOperator(
        task_id="totals",
        configuration={
            "query": {
                "query": f"CREATE OR REPLACE TABLE `{PROJECT}.{DATASET}.totals` AS "
                "SELECT region, SUM(amount) AS total, COUNT(*) AS orders "
                f"FROM `{PROJECT}.{DATASET}.orders` "
                "WHERE amount > {{ params.min_amount }} GROUP BY region",
                "useLegacySql": False,
            }
        },
    )
    extract = BigQueryToGCSOperator(
        task_id="extract",
        source_project_dataset_table=f"{PROJECT}.{DATASET}.totals",
        destination_cloud_storage_uris=[f"gs://{BUCKET}/totals.csv"],
        export_format="CSV",
    )
    s3_bucket = S3CreateBucketOperator(
        task_id="s3_bucket", bucket_name=S3_BUCKET, aws_conn_id="lake"
    )
    to_s3 = GCSToS3Operator(
        task_id="to_s3", gcs_bucket=BUCKET, prefix="totals",
        dest_s3_key=f"s3://{S3_BUCKET}/landing/", dest_aws_conn_id="lake",
    )
    local = PythonOperator(task_id="fetch", python_callable=fetch)
    pg_table = SQLExecuteQueryOperator(
        task_id="pg_table", conn_id="warehouse",
        sql=f"CREATE TABLE IF NOT EXISTS {TABLE} (region text, total int, orders int, day date)",
    )
    spark = SparkSubmitOperator(
        task_id="spark",
        conn_id="spark_local",
        application=os.path.join(HERE, "region_totals.py"),
        application_args=["{{ params.day }}", f"{LANDING}/totals.csv", JDBC_URL, TABLE],
        jars="/usr/share/java/postgresql.jar",
        name="totals-{{ params.day }}",
        driver_memory="512m",
        conf={
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.port": "@DRIVER_PORT@",
            "spark.blockManager.port": "@BLOCK_PORT@",
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "1",
            # A short-lived driver: the JVM's quick start beats its peak speed here.
            "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
        },
    )
    rows = SQLCheckOperator(
        task_id="rows", conn_id="warehouse",
        sql=f"SELECT COUNT(*) = 2 FROM {TABLE} WHERE day = '{{{{ params.day }}}}'",
    )
    total = SQLValueCheckOperator(
        task_id="total", conn_id="warehouse", sql=f"SELECT SUM(total) FROM {TABLE}",
        pass_value=22,
    )
    columns = SQLColumnCheckOperator(
        task_id="columns", conn_id="warehouse", table=TABLE,
        column_mapping={
            "total": {"min": {"greater_than": 0}, "null_check": {"equal_to": 0}},
            "region": {"distinct_check": {"equal_to": 2}},
        },
    )
    dataset >> orders >> totals >> extract >> to_s3 >> local >> spark
    s3_bucket >> to_s3
    pg_table >> spark >> [rows, total, columns]
'''


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_port_and_db(pg_sql_url: str) -> tuple[str, str]:
    info = psycopg.conninfo.conninfo_to_dict(pg_sql_url)
    return str(info.get("port", 5432)), str(info["dbname"])


@pytest.fixture
def gcs_env(monkeypatch: pytest.MonkeyPatch, gcp: GcpEmulators) -> GcpEmulators:
    """The emulators' environment and a ``google_cloud_default`` connection in this process."""
    for key, value in gcp.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT", gcp_uri())
    return gcp


def test_bigquery_to_gcs_to_s3_to_spark_to_postgres_with_sql_checks(
    tmp_path: Path, gcs_env: GcpEmulators, s3_endpoint: str, pg_sql_url: str
) -> None:
    import sys

    import pyspark
    from google.cloud import storage

    if not os.path.exists(JAR):
        pytest.fail(f"{JAR} is missing (scripts/services.sh ensure_postgresql_jdbc)")
    dataset, table = unique("seedbq"), unique("region_totals")
    bucket = unique("seedbq").replace("_", "-")
    # The small dataset: a CSV in Cloud Storage, which the DAG's first step loads into BigQuery.
    gcs = storage.Client(project=PROJECT).create_bucket(bucket)
    gcs.blob("raw/orders.csv").upload_from_string(
        "region,amount\nnorth,10\nnorth,5\nsouth,7\neast,1\n"
    )
    landing = tmp_path / "landing"
    landing.mkdir()
    port, db = _pg_port_and_db(pg_sql_url)
    s3_bucket = bucket_name()
    source = SPARK_DAG
    for key, value in {
        "@PROJECT@": PROJECT,
        "@DATASET@": dataset,
        "@BUCKET@": bucket,
        "@S3_BUCKET@": s3_bucket,
        "@TABLE@": table,
        "@LANDING@": str(landing),
        "@JDBC_URL@": f"jdbc:postgresql://127.0.0.1:{port}/{db}",
        "@DRIVER_PORT@": str(_free_port()),
        "@BLOCK_PORT@": str(_free_port()),
    }.items():
        source = source.replace(key, value)
    spark = {"conn_type": "spark", "host": "local[1]", "extra": {"deploy-mode": "client"}}
    done = run_dag_file(
        tmp_path,
        "seed_bq_to_spark.py",
        source,
        {
            **ISOLATED,
            **gcs_env.env,
            "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT": gcp_uri(),
            "AIRFLOW_CONN_LAKE": aws_uri(s3_endpoint),
            "AIRFLOW_CONN_WAREHOUSE": pg_sql_url,
            "AIRFLOW_CONN_SPARK_LOCAL": json.dumps(spark),
            # Where an Airflow worker finds Spark: the environment's SPARK_HOME.
            "SPARK_HOME": os.path.dirname(pyspark.__file__),
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
        },
        files={"region_totals.py": SPARK_APP},
    )
    output, logs = ended(done, tmp_path, 0)
    # east (1) was left out by the templated WHERE; Spark upper-cased the regions.
    assert pg_rows(
        pg_sql_url, f"SELECT region, total, orders, day::text FROM {table} ORDER BY region"
    ) == [("NORTH", 15, 2, "2024-06-30"), ("SOUTH", 7, 1, "2024-06-30")]
    assert sorted(bucket_contents(s3_endpoint, s3_bucket)) == ["landing/totals.csv"]
    assert (landing / "totals.csv").read_text().splitlines()[0] == "region,total,orders"
    assert "--jars " + JAR in logs and "--name totals-2024-06-30" in logs  # the command
    assert "loaded 2 rows for 2024-06-30" in logs  # the application's own output
    for check in ("rows", "total", "columns"):
        assert f"{check} success" in output, output


# -- GCSToSambaOperator ----------------------------------------------------------------------


def test_gcs_to_samba_copies_moves_and_refuses(
    airflow_hook: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    gcs_env: GcpEmulators,
    smb_server: SmbServer,
) -> None:
    from airflow.providers.samba.transfers.gcs_to_samba import GCSToSambaOperator
    from google.cloud import storage

    from conveyor.exceptions import AirflowException, TaskError

    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIRFLOW_CONN_FILES", smb_server.uri())
    name = unique("tosmb").replace("_", "-")
    bucket = storage.Client(project=PROJECT).create_bucket(name)
    for key, text in {
        "exports/2024/a.csv": "a\n",
        "exports/2024/b.csv": "b\n",
        "exports/2024/notes.txt": "n\n",
        "exports/2024/deep/c.csv": "c\n",
    }.items():
        bucket.blob(key).upload_from_string(text)
    context = {"run_id": "manual__test", "logical_date": None}

    def operator(**kwargs: object) -> GCSToSambaOperator:
        return GCSToSambaOperator(
            task_id="copy", source_bucket=name, samba_conn_id="files", **kwargs
        )

    # One object, its whole name kept under the destination.
    operator(source_object="exports/2024/notes.txt", destination_path=f"{name}/keep").execute(
        context
    )
    share = smb_server.share_path / name
    assert (share / "keep/exports/2024/notes.txt").read_text() == "n\n"
    # One wildcard: up to the first ".csv" after the prefix; names past the prefix's folder;
    # moved: gone from the bucket after.
    operator(
        source_object="exports/2024/*.csv",
        destination_path=f"{name}/flat",
        keep_directory_structure=False,
        move_object=True,
        buffer_size=4096,
    ).execute(context)
    copied = sorted(p.relative_to(share / "flat").as_posix() for p in share.rglob("*.csv"))
    assert copied == ["a.csv", "b.csv", "deep/c.csv"]
    assert sorted(b.name for b in bucket.list_blobs()) == ["exports/2024/notes.txt"]

    with pytest.raises(AirflowException, match="only one wildcard"):
        operator(source_object="exports/*/*.csv", destination_path="x").execute(context)
    # Refused before anything is read (the emulator could not even hold such a name).
    with pytest.raises(ValueError, match="outside destination_path"):
        operator(source_object="exports/../../escape.txt", destination_path="in").execute(context)
    with pytest.raises(TaskError, match="impersonation_chain"):
        operator(
            source_object="exports/2024/notes.txt", destination_path="y", impersonation_chain="sa"
        ).execute(context)
    assert not (smb_server.share_path / "escape.txt").exists()


# -- a production install: the postgres, gcp_api, samba, s3 and slack extras together ---------

WEBHOOK_TOKEN = "T0001/B0001/Seed5ecret0001"

PRODUCTION_DAG = '''
"""A daily report: a PostgreSQL query exported to Cloud Storage, copied to the finance
share and archived in S3, then announced on Slack."""
from datetime import datetime

from airflow import DAG
from airflow.providers.amazon.aws.operators.s3 import S3CreateBucketOperator
from airflow.providers.amazon.aws.transfers.gcs_to_s3 import GCSToS3Operator
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.google.cloud.operators.gcs import GCSCreateBucketOperator
from airflow.providers.google.cloud.transfers.postgres_to_gcs import PostgresToGCSOperator
from airflow.providers.samba.transfers.gcs_to_samba import GCSToSambaOperator
from airflow.providers.slack.operators.slack_webhook import SlackWebhookOperator

BUCKET, S3_BUCKET, TABLE = "@BUCKET@", "@S3_BUCKET@", "@TABLE@"

with DAG("seed_production", start_date=datetime(2024, 1, 1), schedule=None, catchup=False,
         params={"day": "2024-06-30"}):
    sales = SQLExecuteQueryOperator(
        task_id="sales", conn_id="warehouse",
        sql=[f"CREATE TABLE {TABLE} (id int, amount numeric(6,2))",
             f"INSERT INTO {TABLE} VALUES (1, 10.50), (2, 3.25), (3, 0.75)"],
    )
    bucket = GCSCreateBucketOperator(task_id="bucket", bucket_name=BUCKET)
    export = PostgresToGCSOperator(
        task_id="export", postgres_conn_id="warehouse",
        sql=f"SELECT id, amount FROM {TABLE} WHERE amount > 1 ORDER BY id",
        bucket=BUCKET, filename="reports/{{ params.day }}/sales.csv", export_format="csv",
    )
    share = GCSToSambaOperator(
        task_id="share", source_bucket=BUCKET, source_object="reports/{{ params.day }}/*.csv",
        destination_path="finance", keep_directory_structure=False, samba_conn_id="files",
    )
    s3_bucket = S3CreateBucketOperator(task_id="s3_bucket", bucket_name=S3_BUCKET,
                                       aws_conn_id="lake")
    archive = GCSToS3Operator(
        task_id="archive", gcs_bucket=BUCKET, prefix="reports/",
        dest_s3_key=f"s3://{S3_BUCKET}/archive/", dest_aws_conn_id="lake",
    )
    announce = SlackWebhookOperator(
        task_id="announce", slack_webhook_conn_id="slack_webhook",
        message="sales report for {{ params.day }}: on the finance share and in S3",
    )
    sales >> bucket >> export >> [share, archive] >> announce
    s3_bucket >> archive
'''


@pytest.fixture
def slack() -> Iterator[Recorder]:
    """A local Slack: its incoming webhook answers ``ok`` as Slack's does."""

    def webhook(seen: Seen) -> Answer:
        return 200, "ok", {"Content-Type": "text/plain"}

    routes = {("POST", f"/services/{WEBHOOK_TOKEN}"): webhook}
    yield from http_servers.serve(Recorder(routes=routes))  # type: ignore[arg-type]


def test_a_production_install_runs_postgres_gcs_samba_s3_and_slack_together(
    tmp_path: Path,
    gcs_env: GcpEmulators,
    s3_endpoint: str,
    pg_sql_url: str,
    smb_server: SmbServer,
    slack: Recorder,
) -> None:
    from google.cloud import storage

    bucket, table = unique("seedprod").replace("_", "-"), unique("sales")
    s3_bucket = bucket_name()
    source = (
        PRODUCTION_DAG.replace("@BUCKET@", bucket)
        .replace("@S3_BUCKET@", s3_bucket)
        .replace("@TABLE@", table)
    )
    webhook = {"conn_type": "slackwebhook", "host": f"{slack.url}/services"}
    done = run_dag_file(
        tmp_path,
        "seed_production.py",
        source,
        {
            **ISOLATED,
            **gcs_env.env,
            "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT": gcp_uri(),
            "AIRFLOW_CONN_WAREHOUSE": pg_sql_url,
            "AIRFLOW_CONN_LAKE": aws_uri(s3_endpoint),
            "AIRFLOW_CONN_FILES": smb_server.uri(),
            "AIRFLOW_CONN_SLACK_WEBHOOK": json.dumps({**webhook, "password": WEBHOOK_TOKEN}),
        },
    )
    ended(done, tmp_path, 0)
    report = "id,amount\n1,10.5\n2,3.25\n"  # numerics as floats, as in Airflow
    key = "reports/2024-06-30/sales.csv"
    exported = storage.Client(project=PROJECT).bucket(bucket).blob(key).download_as_bytes()
    assert exported.decode().replace("\r\n", "\n") == report
    # The same bytes on the share's disk and in S3.
    assert (smb_server.share_path / "finance" / "sales.csv").read_bytes() == exported
    assert bucket_contents(s3_endpoint, s3_bucket) == {f"archive/{key}": exported}
    posted = slack.requests("POST", f"/services/{WEBHOOK_TOKEN}")
    assert [p.json()["text"] for p in posted] == [
        "sales report for 2024-06-30: on the finance share and in S3"
    ]
