"""PythonOperator's op_args and op_kwargs, templated."""

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from difrec import START, rec


def body(a, b, c=None, **context):
    rec(context, "args", [a, b, c])


with DAG("op_python_args", schedule=None, start_date=START, catchup=False):
    PythonOperator(
        task_id="work",
        python_callable=body,
        op_args=["{{ ds }}", 2],
        op_kwargs={"c": "{{ ds_nodash }}"},
    )
