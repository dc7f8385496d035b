"""TaskGroup helpers: prefix_group_id=False keeps bare ids, a nested group's ids, group_id and
the downstream of a group (every leaf to what follows), add_suffix_on_collision."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, TaskGroup, task
from difrec import START, rec

with DAG("std_task_group_helpers", schedule=None, start_date=START, catchup=False) as dag:
    with TaskGroup("outer", tooltip="outer group") as outer:
        EmptyOperator(task_id="a")
        with TaskGroup("inner") as inner:
            EmptyOperator(task_id="b")
        with TaskGroup("bare", prefix_group_id=False):
            EmptyOperator(task_id="c")

    @task
    def look(**context):
        rec(context, "task_ids", sorted(dag.task_ids))
        rec(context, "groups", [outer.group_id, inner.group_id])
        rec(context, "upstream", sorted(context["task"].upstream_task_ids))

    outer >> look()
