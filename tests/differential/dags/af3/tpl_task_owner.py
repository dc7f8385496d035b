"""{{ task.owner }} and the task's own attributes in templates."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG(
    "tpl_task_owner",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args={"owner": "data-team"},
):

    @task(retries=2)
    def look(values, **context):
        rec(context, "values", values)

    look(
        [
            "{{ task.owner }}",
            "{{ task.task_id }}",
            "{{ ti.task_id }}",
            "{{ task.retries }}",
            "{{ dag.dag_id }}",
        ]
    )
