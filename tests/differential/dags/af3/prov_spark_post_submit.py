"""SparkSubmitOperator's post_submit_commands: rendered, run after spark-submit ends whether it
succeeded or failed; a command that fails or is not there does not fail the task."""

import os

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG, task
from difrec import START, rec

# A file of the run's own: the suite runs the DAG on more than one path.
NOTE = "sh -c 'echo {} >> \"$DIFFSUITE_SPARK_DIR/post_submit_{{{{ run_id }}}}.txt\"'"

with DAG("prov_spark_post_submit", schedule=None, start_date=START, catchup=False):
    succeeds = SparkSubmitOperator(
        task_id="succeeds",
        conn_id="diffsuite_spark",
        application="/jobs/job.py",
        name="post_ok",
        post_submit_commands=[
            NOTE.format("after-ok-{{ ds_nodash }}"),
            "false",
            "no-such-command-diffsuite",
            NOTE.format("after-the-failures"),
        ],
    )
    fails = SparkSubmitOperator(
        task_id="fails",
        conn_id="diffsuite_spark",
        application="/jobs/fail.py",
        name="post_fail",
        post_submit_commands=[NOTE.format("after-fail")],
    )

    @task(trigger_rule="all_done")
    def look(**context):
        name = f"post_submit_{context['run_id']}.txt"
        path = os.path.join(os.environ["DIFFSUITE_SPARK_DIR"], name)
        with open(path) as seen:
            rec(context, "ran", seen.read().splitlines())

    succeeds >> fails >> look()
