"""DockerOperator on podman's Docker-compatible service: the XCom of the last line, every
line (xcom_all), none (do_xcom_push=False), a command string, list and list literal, the
templated environment and the private one, the bound tmp folder (AIRFLOW_TMP_DIR),
working_dir, a non-zero exit failing the task, and skip_on_exit_code."""

import os

from airflow.exceptions import AirflowException
from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import DAG, task
from difrec import START, rec

IMAGE = os.environ.get("DIFFSUITE_DOCKER_IMAGE", "busybox")


def failed(context):
    error = context["exception"]
    rec(context, "airflow_exception", isinstance(error, AirflowException))
    rec(context, "message_starts", str(error).startswith("Docker container failed: "))
    rec(context, "logs", [str(line).strip() for line in error.logs])


with DAG(
    "prov_docker_operator",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args={"image": IMAGE, "auto_remove": "force"},
):
    last = DockerOperator(task_id="last", command="sh -c 'echo one; echo two {{ ds }}'")
    every = DockerOperator(
        task_id="every",
        command=["sh", "-c", "echo a; echo b c; echo tmp=$AIRFLOW_TMP_DIR; echo $HI $SECRET"],
        environment={"HI": "hi-{{ ds_nodash }}"},
        private_environment={"SECRET": "s3"},
        xcom_all=True,
    )
    literal = DockerOperator(task_id="literal", command="['sh', '-c', 'echo listed']")
    quiet = DockerOperator(task_id="quiet", command="echo nothing", do_xcom_push=False)
    where = DockerOperator(
        task_id="where", command="sh -c pwd", working_dir="/etc", mount_tmp_dir=False
    )
    DockerOperator(task_id="fails", command="sh -c 'echo bad; exit 3'", on_failure_callback=failed)
    DockerOperator(task_id="skips", command="sh -c 'exit 5'", skip_on_exit_code=5)

    @task
    def look(**context):
        for task_id in ("last", "every", "literal", "quiet", "where"):
            rec(context, task_id, context["ti"].xcom_pull(task_ids=task_id))

    [last, every, literal, quiet, where] >> look()
