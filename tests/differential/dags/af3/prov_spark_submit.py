"""SparkSubmitOperator's command line, as a stand-in spark-submit saw it: every option
keyword, templated fields, env_vars (in the process; as YARN's appMasterEnv conf), the master
from a connection's host or URI, the spark-binary extra, yarn_queue over the connection's
queue, no spark_default connection (YARN), and a non-zero exit failing the task."""

import json
import os

from airflow.exceptions import AirflowException
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG, task
from difrec import START, rec


def failed(context):
    error = context["exception"]
    rec(context, "error", [isinstance(error, AirflowException), "Error code is: 3" in str(error)])


with DAG(
    "prov_spark_submit",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"app": "job.py"},
):
    full = SparkSubmitOperator(
        task_id="full",
        conn_id="diffsuite_spark",
        application="/jobs/{{ params.app }}",
        conf={"spark.sql.shuffle.partitions": "4", "spark.app.day": "{{ ds }}"},
        files="/jobs/a.txt,/jobs/b.txt",
        py_files="/jobs/lib.zip",
        archives="/jobs/env.tar.gz#env",
        jars="/jobs/x.jar",
        driver_class_path="/jobs/drivers/*",
        java_class="org.example.Main",
        packages="org.example:pkg:1.0",
        exclude_packages="org.example:old",
        repositories="https://repo.example.com/maven",
        total_executor_cores=4,
        executor_cores=2,
        executor_memory="2g",
        driver_memory="1g",
        proxy_user="etl",
        name="full",
        num_executors=3,
        application_args=["--day", "{{ ds }}", "--mode", "full"],
        env_vars={"DIFF_SPARK_DAY": "{{ ds_nodash }}"},
        verbose=True,
        properties_file="/jobs/spark.properties",
        deploy_mode="client",
    )
    yarn = SparkSubmitOperator(
        task_id="yarn",
        conn_id="diffsuite_spark_yarn",
        application="/jobs/job.py",
        name="yarn",
        yarn_queue="nightly",
        env_vars={"DIFF_SPARK_KIND": "yarn"},
    )
    uri = SparkSubmitOperator(
        task_id="uri", conn_id="diffsuite_spark_uri", application="/jobs/job.py", name="uri"
    )
    default = SparkSubmitOperator(task_id="default", application="/jobs/job.py", name="default")
    binary = SparkSubmitOperator(
        task_id="binary",
        conn_id="diffsuite_spark",
        application="/jobs/job.py",
        name="binary",
        spark_binary="spark3-submit",
    )
    fails = SparkSubmitOperator(
        task_id="fails",
        conn_id="diffsuite_spark",
        application="/jobs/fail.py",
        name="fails",
        on_failure_callback=failed,
    )

    @task(trigger_rule="all_done")
    def look(**context):
        folder = os.environ["DIFFSUITE_SPARK_DIR"]
        for name in ("full", "yarn", "uri", "default", "binary", "fails"):
            with open(os.path.join(folder, name + ".json")) as seen:
                rec(context, name, json.load(seen))
        for task_id in ("full", "fails"):
            rec(context, f"xcom_{task_id}", context["ti"].xcom_pull(task_ids=task_id))

    [full, yarn, uri, default, binary, fails] >> look()
