"""Variable.get: a value, a JSON value, a default, and a missing key's exception class."""

from airflow.sdk import DAG, Variable, task
from difrec import START, attempt

with DAG("var_get", schedule=None, start_date=START, catchup=False):

    @task
    def look(**context):
        attempt(context, "plain", lambda: Variable.get("diffsuite_greeting"))
        attempt(context, "json", lambda: Variable.get("diffsuite_json", deserialize_json=True))
        attempt(context, "default", lambda: Variable.get("diffsuite_missing", default="dflt"))

    look()
