"""The classic BranchPythonOperator, its callable getting the context."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import BranchPythonOperator
from airflow.sdk import DAG
from difrec import START, rec


def choose(**context):
    rec(context, "ds", context["ds"])
    return "weekend" if context["logical_date"].weekday() >= 5 else "weekday"


with DAG("br_operator", schedule=None, start_date=START, catchup=False):
    pick = BranchPythonOperator(task_id="pick", python_callable=choose)
    pick >> [EmptyOperator(task_id="weekday"), EmptyOperator(task_id="weekend")]
