"""SparkSubmitOperator with pyspark's own spark-submit (one real Spark job: about 20 s) and,
for what needs no JVM, a stand-in spark-submit script that shows the process tree the
operator must end.

The real job is the seed pipeline's Spark step: a PySpark application reads a local CSV and
appends it to a PostgreSQL table through JDBC, with Debian's driver given as ``jars=``.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import sql_servers
from sql_servers import pg_rows, unique

from conveyor.states import TaskState
from conveyor.testing import run_dag

pg_sql_url = sql_servers.pg_sql_url

JAR = "/usr/share/java/postgresql.jar"

APP = """\
import sys

from pyspark.sql import SparkSession
from pyspark.sql.functions import lit

day, csv_path, url, table = sys.argv[1:5]
spark = SparkSession.builder.getOrCreate()
frame = spark.read.option("header", True).option("inferSchema", True).csv(csv_path)
frame = frame.withColumn("day", lit(day))
frame.write.jdbc(url, table, mode="append",
                 properties={"user": "postgres", "driver": "org.postgresql.Driver",
                             "stringtype": "unspecified"})
print(f"loaded {frame.count()} rows for {day}", flush=True)
spark.stop()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.postgres
@pytest.mark.timeout(240)
def test_spark_submit_loads_a_csv_into_postgres_through_jdbc(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pg_sql_url: str
) -> None:
    import pyspark
    from airflow import DAG
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    if not os.path.exists(JAR):
        pytest.fail(f"{JAR} is missing (scripts/services.sh ensure_postgresql_jdbc)")
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_SPARK_LOCAL",
        json.dumps({"conn_type": "spark", "host": "local[1]", "extra": {"deploy-mode": "client"}}),
    )
    table = unique("spark_orders")
    with psycopg.connect(pg_sql_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int, item text, amount numeric, day date)")
    csv = tmp_path / "orders.csv"
    csv.write_text("id,item,amount\n1,pen,2.5\n2,ink,7.25\n3,pad,1\n")
    app = tmp_path / "load_orders.py"
    app.write_text(APP)
    info = psycopg.conninfo.conninfo_to_dict(pg_sql_url)
    url = f"jdbc:postgresql://127.0.0.1:{info.get('port', 5432)}/{info['dbname']}"

    with DAG("spark_load", start_date=datetime(2024, 1, 1), schedule=None) as dag:
        SparkSubmitOperator(
            task_id="load",
            conn_id="spark_local",
            application=str(app),
            application_args=["{{ ds }}", str(csv), url, table],
            jars=JAR,
            name="load-{{ ds_nodash }}",
            driver_memory="512m",
            conf={
                "spark.driver.host": "127.0.0.1",
                "spark.driver.bindAddress": "127.0.0.1",
                "spark.driver.port": str(_free_port()),
                "spark.blockManager.port": str(_free_port()),
                "spark.ui.enabled": "false",
                "spark.sql.shuffle.partitions": "1",
                # A short-lived driver: the JVM's quick start beats its peak speed here.
                "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
            },
            env_vars={
                "SPARK_HOME": os.path.dirname(pyspark.__file__),
                "PYSPARK_PYTHON": sys.executable,
                "PYSPARK_DRIVER_PYTHON": sys.executable,
            },
            verbose=False,
        )
    started = time.monotonic()
    result = run_dag(dag, logical_date=datetime(2024, 6, 30))
    print(f"the Spark job took {time.monotonic() - started:.1f}s")
    result.raise_for_failure()
    log = result.tasks["load"].log
    assert "--jars " + JAR in log and "--name load-20240630" in log  # the command, templated
    assert "loaded 3 rows for 2024-06-30" in log  # the application's own output
    assert pg_rows(
        pg_sql_url, f"SELECT id, item, amount::text, day::text FROM {table} ORDER BY id"
    ) == [
        (1, "pen", "2.5", "2024-06-30"),
        (2, "ink", "7.25", "2024-06-30"),
        (3, "pad", "1", "2024-06-30"),
    ]


STAND_IN = """\
#!/bin/bash
# A stand-in spark-submit: prints its arguments, starts a child as the JVM would start
# Python workers, then fails or waits as its first argument after the options says.
echo "stand-in got: $*"
sleep 300 &
echo $! > "$STAND_IN_DIR/child.pid"
echo $$ > "$STAND_IN_DIR/self.pid"
for last; do :; done
if [ "$last" = fail ]; then echo "Exception in thread main: boom"; exit 3; fi
wait
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (not yet reaped) has stopped running too.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[1][0] != "Z"


def test_failure_and_timeout_end_the_whole_spark_submit_tree(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from airflow import DAG
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    binaries = tmp_path / "bin"
    binaries.mkdir()
    (binaries / "spark-submit").write_text(textwrap.dedent(STAND_IN))
    (binaries / "spark-submit").chmod(0o755)
    monkeypatch.setenv("PATH", f"{binaries}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("SPARK_HOME", raising=False)
    monkeypatch.setenv("STAND_IN_DIR", str(tmp_path))
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_SPARK_YARN",
        json.dumps({"conn_type": "spark", "host": "yarn", "extra": {"queue": "etl"}}),
    )

    with DAG("spark_stand_in", start_date=datetime(2024, 1, 1), schedule=None) as dag:
        SparkSubmitOperator(
            task_id="fails",
            conn_id="spark_yarn",
            application="job.py",
            application_args=["fail"],
            conf={"spark.db.password": "hunter2"},
            py_files="a.zip,b.zip",
        )
    result = run_dag(dag)
    failed = result.tasks["fails"]
    assert failed.state is TaskState.FAILED
    assert "Error code is: 3" in (failed.error or "") and "boom" in (failed.error or "")
    assert "hunter2" not in failed.log + (failed.error or "")
    assert "--master yarn --conf spark.db.password=******" in failed.log
    assert "--py-files a.zip,b.zip" in failed.log and "--queue etl" in failed.log
    # spark-submit's process group was ended with it: its child does not outlive the try.
    assert not _alive(int((tmp_path / "child.pid").read_text()))

    with DAG("spark_timeout", start_date=datetime(2024, 1, 1), schedule=None) as dag:
        SparkSubmitOperator(
            task_id="slow",
            conn_id="spark_yarn",
            application="job.py",
            application_args=["wait"],
            execution_timeout=timedelta(seconds=2),
        )
    started = time.monotonic()
    result = run_dag(dag)
    assert result.task_state("slow") is TaskState.FAILED
    assert time.monotonic() - started < 30
    for name in ("self.pid", "child.pid"):
        assert not _alive(int((tmp_path / name).read_text())), name


def test_refused_keywords_and_connection_extras(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from conveyor.exceptions import TaskError
    from conveyor.providers.spark.hook import SparkSubmitHook
    from conveyor.providers.spark.operator import SparkSubmitOperator

    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    with pytest.raises(TaskError, match="post_submit_commands"):
        SparkSubmitOperator(task_id="x", application="a.py", post_submit_commands=["echo"])
    monkeypatch.setenv(
        "AIRFLOW_CONN_SPARK_HOME_SET",
        json.dumps({"conn_type": "spark", "host": "local", "extra": {"spark-home": "/opt/x"}}),
    )
    with pytest.raises(ValueError, match="spark-home"):
        SparkSubmitHook(conn_id="spark_home_set")
    monkeypatch.setenv("AIRFLOW_CONN_STANDALONE", "spark://master.example:7077?deploy-mode=cluster")
    with pytest.raises(TaskError, match="cluster"):
        SparkSubmitHook(conn_id="standalone")
    # A URI connection: its type is the master's scheme, host and port as given.
    monkeypatch.setenv("AIRFLOW_CONN_STANDALONE", "spark://master.example:7077")
    hook = SparkSubmitHook(conn_id="standalone", name="n")
    assert hook._connection["master"] == "spark://master.example:7077"
    # No connection: yarn, as in Airflow.
    assert SparkSubmitHook(conn_id="spark_nowhere")._connection["master"] == "yarn"
