"""@task.branch picks one path; the other is skipped, a join with the default rule too."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task
from difrec import START

with DAG("br_task_branch", schedule=None, start_date=START, catchup=False):

    @task.branch
    def pick():
        return "right"

    left = EmptyOperator(task_id="left")
    right = EmptyOperator(task_id="right")
    join_default = EmptyOperator(task_id="join_default")
    join_lenient = EmptyOperator(task_id="join_lenient", trigger_rule="none_failed_min_one_success")
    pick() >> [left, right]
    [left, right] >> join_default
    [left, right] >> join_lenient
