"""Classic XComs: task_instance.xcom_push and a pull in a template."""

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator
from difrec import START, rec


def push(**context):
    context["task_instance"].xcom_push(key="n", value=3)
    return "r"


def pull(value, **context):
    rec(context, "value", value)
    rec(context, "n", context["ti"].xcom_pull(task_ids="push", key="n"))


with DAG("a2_xcom_classic", schedule_interval=None, start_date=START, catchup=False):
    p = PythonOperator(task_id="push", python_callable=push)
    b = BashOperator(task_id="echo", bash_command="echo {{ ti.xcom_pull(task_ids='push') }}")
    q = PythonOperator(
        task_id="pull", python_callable=pull, op_args=["{{ ti.xcom_pull(task_ids='echo') }}"]
    )
    p >> b >> q
