"""PythonOperator's templates_dict is rendered and handed to the callable."""

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from difrec import START, rec


def show(templates_dict, **context):
    rec(context, "templates_dict", templates_dict)


with DAG("tpl_templates_dict", schedule=None, start_date=START, catchup=False):
    PythonOperator(
        task_id="show", python_callable=show, templates_dict={"day": "{{ ds }}", "n": "{{ 1 + 1 }}"}
    )
