"""user_defined_macros and user_defined_filters reach the templates."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG(
    "tpl_user_macro",
    schedule=None,
    start_date=START,
    catchup=False,
    user_defined_macros={"team": "sales", "double": lambda x: x * 2},
    user_defined_filters={"shout": lambda s: s.upper() + "!"},
):

    @task
    def look(values, **context):
        rec(context, "values", values)

    look(["{{ team }}", "{{ double(21) }}", "{{ team | shout }}"])
