"""render_template_as_native_obj=True renders Python values, not text."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG(
    "tpl_native", schedule=None, start_date=START, catchup=False, render_template_as_native_obj=True
):

    @task
    def look(a, b, c, **context):
        rec(context, "types", [type(a).__name__, type(b).__name__, type(c).__name__])
        rec(context, "values", [a, b, c])

    look("{{ [1, 2] }}", "{{ 3 }}", "{{ ds }}")
