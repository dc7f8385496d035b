"""Label between tasks does not change what runs; chain with a Label in its list, and a
branch past a label."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Label, chain, task
from difrec import START, rec

with DAG("std_label_chain", schedule=None, start_date=START, catchup=False):

    @task.branch
    def pick():
        return "yes"

    @task(trigger_rule="none_failed_min_one_success")
    def join(**context):
        rec(context, "upstream", sorted(context["task"].upstream_task_ids))

    yes = EmptyOperator(task_id="yes")
    no = EmptyOperator(task_id="no")
    chosen = pick()
    chosen >> Label("take yes") >> yes
    chosen >> Label("take no") >> no
    chain([yes, no], [Label("after yes"), Label("after no")], join())
