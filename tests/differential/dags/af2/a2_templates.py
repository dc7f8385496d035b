"""Airflow 2's names in templates, and its date filters."""

from airflow import DAG
from airflow.operators.python import PythonOperator
from difrec import START, rec


def look(values, **context):
    rec(context, "values", values)


with DAG("a2_templates", schedule_interval=None, start_date=START, catchup=False):
    PythonOperator(
        task_id="look",
        python_callable=look,
        op_kwargs={
            "values": [
                "{{ execution_date }}",
                "{{ ds }}",
                "{{ next_ds }}",
                "{{ execution_date | ds }}",
                "{{ execution_date | ts_nodash }}",
                "{{ macros.ds_add(ds, 1) }}",
            ]
        },
    )
