"""{{ var.value.X }} and {{ var.json.X }} read variables, with defaults for missing ones."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("tpl_var", schedule=None, start_date=START, catchup=False):

    @task
    def look(values, **context):
        rec(context, "values", values)

    look(
        [
            "{{ var.value.diffsuite_greeting }}",
            "{{ var.value.get('diffsuite_missing', 'fallback') }}",
            "{{ var.json.diffsuite_json.n }}",
            "{{ var.json.get('diffsuite_missing', {'k': 1}) }}",
        ]
    )
