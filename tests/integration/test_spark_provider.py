"""SparkSubmitOperator with a stand-in spark-submit script that shows the process tree the
operator must end, its post-submit commands, and the keywords and connections it refuses.

The real Spark job (pyspark's own spark-submit, about 20 s) is the seed pipeline's Spark
step, in test_seed_pipelines.py: one job for the suite.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conveyor.states import TaskState
from conveyor.testing import run_dag

# Their in-process DAGs and hooks import Airflow's paths: the compat hook on for each test.
pytestmark = pytest.mark.usefixtures("airflow_hook")

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
if [ "$last" = ok ]; then exit 0; fi
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
            post_submit_commands=["touch {{ params.folder }}/after-fail"],
            params={"folder": str(tmp_path)},
        )
        # A failing post-submit command, one that is not there, one badly quoted: warnings.
        SparkSubmitOperator(
            task_id="succeeds",
            conn_id="spark_yarn",
            application="job.py",
            application_args=["ok"],
            post_submit_commands=[
                "false",
                "no-such-command-here",
                "echo 'unclosed",
                f"touch {tmp_path}/after-ok-{{{{ ds_nodash }}}}",
            ],
        )
    result = run_dag(dag, logical_date=datetime(2024, 1, 2))
    # The commands ran after spark-submit ended, failed or not, rendered, each once.
    assert (tmp_path / "after-fail").exists()
    assert (tmp_path / "after-ok-20240102").exists()
    succeeded = result.tasks["succeeds"]
    assert succeeded.state is TaskState.SUCCESS, succeeded.error
    assert "Post-submit command exited with non-zero code 1: false" in succeeded.log
    assert "Post-submit command could not run: no-such-command-here" in succeeded.log
    assert "Post-submit command could not run: echo 'unclosed" in succeeded.log
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
            post_submit_commands=[f"sh -c 'echo ran >> {tmp_path}/after-timeout'"],
        )
    started = time.monotonic()
    result = run_dag(dag)
    assert result.task_state("slow") is TaskState.FAILED
    assert time.monotonic() - started < 30
    # A stopped try runs them too, once though both the submit's end and on_kill ask.
    assert (tmp_path / "after-timeout").read_text() == "ran\n"
    for name in ("self.pid", "child.pid"):
        assert not _alive(int((tmp_path / name).read_text())), name


def test_refused_keywords_and_connection_extras(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from conveyor.exceptions import TaskError
    from conveyor.providers.spark.hook import SparkSubmitHook
    from conveyor.providers.spark.operator import SparkSubmitOperator

    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    # The operator is built (its DAG file loads), and refuses when it runs; the hook, made
    # to be used, refuses at once.
    refused = SparkSubmitOperator(task_id="x", application="a.py", track_driver_via_k8s_api=True)
    assert "track_driver_via_k8s_api" in (refused.refused_when_run or "")
    with pytest.raises(TaskError, match="track_driver_via_k8s_api"):
        SparkSubmitHook(track_driver_via_k8s_api=True)
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
