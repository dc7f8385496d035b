"""{{ ti.xcom_pull(...) }} in a template, and a classic operator's .output."""

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("xcom_template", schedule=None, start_date=START, catchup=False):
    make = PythonOperator(task_id="make", python_callable=lambda: 41)

    @task
    def use(rendered, direct, **context):
        rec(context, "values", [rendered, direct])

    make >> use("{{ ti.xcom_pull(task_ids='make') + 1 }}", make.output)
