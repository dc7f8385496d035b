"""provide_context=True and templates_dict on Airflow 2's PythonOperator."""

from airflow import DAG
from airflow.operators.python_operator import PythonOperator
from difrec import START, rec


def look(templates_dict, **context):
    rec(context, "templates_dict", templates_dict)
    rec(context, "task_id", context["task_instance"].task_id)


with DAG("a2_provide_context", schedule_interval=None, start_date=START, catchup=False):
    PythonOperator(
        task_id="look", python_callable=look, provide_context=True, templates_dict={"d": "{{ ds }}"}
    )
