"""SSHOperator on a real sshd: the XCom of a command's output, stderr, and a non-zero exit."""

from airflow.exceptions import AirflowException
from airflow.providers.ssh.operators.ssh import SSHOperator
from airflow.sdk import DAG, task
from difrec import START, rec


def failed(context):
    error = context["exception"]
    rec(context, "airflow_exception", isinstance(error, AirflowException))
    rec(context, "message", str(error))


with DAG(
    "prov_ssh_command",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args={"on_failure_callback": failed},
):
    out = SSHOperator(
        task_id="out",
        ssh_conn_id="diffsuite_ssh",
        command="echo hello {{ ds }}; echo second line; echo warning >&2",
    )
    quiet = SSHOperator(task_id="quiet", ssh_conn_id="diffsuite_ssh", command="true")
    SSHOperator(task_id="exits", ssh_conn_id="diffsuite_ssh", command="echo before; exit 3")

    @task
    def look(**context):
        rec(context, "out", context["ti"].xcom_pull(task_ids="out"))
        rec(context, "quiet", context["ti"].xcom_pull(task_ids="quiet"))

    [out, quiet] >> look()
