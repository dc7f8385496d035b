"""Templates inside lists and dicts of op_kwargs are rendered, keys are not."""

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from difrec import START, rec


def show(payload, **context):
    rec(context, "payload", payload)


with DAG("tpl_nested", schedule=None, start_date=START, catchup=False):
    PythonOperator(
        task_id="show",
        python_callable=show,
        op_kwargs={
            "payload": {"{{ ds }}": ["{{ ds_nodash }}", {"inner": "{{ params.p }}"}], "n": 3}
        },
        params={"p": "x"},
    )
