"""What a task reads of its DAG and of its own operator through the context: the DAG's
id, description, tags, owner, catchup and max_active_runs; the task's retries,
retry_delay, trigger_rule, owner, queue, pool, priority_weight, execution_timeout and
depends_on_past."""

import datetime as dt

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG(
    "std_dag_task_attributes",
    schedule=None,
    start_date=START,
    catchup=False,
    description="what a task reads of its DAG",
    tags=["b", "a"],
    max_active_runs=3,
    default_args={
        "owner": "team-x",
        "retries": 2,
        "retry_delay": dt.timedelta(seconds=30),
    },
):

    @task(
        queue="default",
        priority_weight=5,
        execution_timeout=dt.timedelta(minutes=5),
        trigger_rule="all_done",
    )
    def look(**context):
        dag, me = context["dag"], context["task"]
        rec(context, "dag_id", dag.dag_id)
        rec(context, "description", dag.description)
        rec(context, "tags", sorted(dag.tags))
        rec(context, "dag_owner", dag.owner)
        rec(context, "catchup", dag.catchup)
        rec(context, "max_active_runs", dag.max_active_runs)
        rec(context, "retries", me.retries)
        rec(context, "retry_delay", me.retry_delay)
        rec(context, "trigger_rule", me.trigger_rule == "all_done")
        rec(context, "owner", me.owner)
        rec(context, "queue", me.queue)
        rec(context, "pool", me.pool)
        rec(context, "priority_weight", me.priority_weight)
        rec(context, "execution_timeout", me.execution_timeout)
        rec(context, "depends_on_past", me.depends_on_past)

    look()
