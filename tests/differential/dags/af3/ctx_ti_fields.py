"""The task instance's ids, map index and try number in the context."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("ctx_ti_fields", schedule=None, start_date=START, catchup=False):

    @task(retries=1)
    def look(**context):
        ti = context["ti"]
        rec(context, "ids", [ti.dag_id, ti.task_id, ti.map_index, ti.try_number])
        rec(context, "same_ti", context["task_instance"] is ti)
        rec(context, "task", [context["task"].task_id, context["task"].retries])
        rec(context, "dag", context["dag"].dag_id)
        rec(context, "conf", context["dag_run"].conf)

    look()
