"""Variable.get of a missing key without a default: the exception's class."""

from airflow.sdk import DAG, Variable, task
from difrec import START, attempt

with DAG("var_missing", schedule=None, start_date=START, catchup=False):

    @task
    def look(**context):
        attempt(context, "missing", lambda: Variable.get("diffsuite_missing"))

    look()
