"""Variable.get on Airflow 2: default_var=, deserialize_json=, a missing key."""

from airflow import DAG
from airflow.models import Variable
from airflow.operators.python import PythonOperator
from difrec import START, attempt


def look(**context):
    attempt(context, "plain", lambda: Variable.get("diffsuite_greeting"))
    attempt(context, "json", lambda: Variable.get("diffsuite_json", deserialize_json=True))
    attempt(context, "default", lambda: Variable.get("diffsuite_missing", default_var="dflt"))
    attempt(context, "missing", lambda: Variable.get("diffsuite_missing"))


with DAG("a2_variable", schedule_interval=None, start_date=START, catchup=False):
    PythonOperator(task_id="look", python_callable=look)
