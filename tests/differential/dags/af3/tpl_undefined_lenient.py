"""template_undefined=jinja2.Undefined renders an unknown name as empty text."""

import jinja2
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG(
    "tpl_undefined_lenient",
    schedule=None,
    start_date=START,
    catchup=False,
    template_undefined=jinja2.Undefined,
):

    @task
    def look(value, **context):
        rec(context, "value", value)

    look("[{{ no_such_name }}]")
