"""Airflow 2's skip() and skip_all_except() let execute go on and keep its return value; a
branch keeps what it returned, as it returned it, whether it skipped a task or not."""

from airflow import DAG
from airflow.decorators import task
from airflow.models import BaseOperator, SkipMixin
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import BranchPythonOperator
from airflow.utils.task_group import TaskGroup
from difrec import START, rec


class SkipThenMore(BaseOperator, SkipMixin):
    def execute(self, context):
        skipped = [t for t in context["task"].downstream_list if t.task_id == "b"]
        self.skip(context["dag_run"], context["ti"].execution_date, skipped)
        rec(context, "after_skip", True)
        return "after the skip"


class AllExceptThenMore(BaseOperator, SkipMixin):
    def execute(self, context):
        self.skip_all_except(context["ti"], "c")
        rec(context, "after_skip_all_except", True)
        return "after skip_all_except"


with DAG("a2_skip_goes_on", schedule_interval=None, start_date=START, catchup=False):
    leaves = {t: EmptyOperator(task_id=t) for t in ("a", "b", "c", "d", "x", "y", "z")}
    SkipThenMore(task_id="first") >> [leaves["a"], leaves["b"]]
    AllExceptThenMore(task_id="all_except") >> [leaves["c"], leaves["d"]]
    pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "x")
    pick >> [leaves["x"], leaves["y"]]

    @task.branch
    def into_group():
        return ["grp"]

    with TaskGroup("grp") as grp:
        inner = EmptyOperator(task_id="inner")
    into_group() >> [grp, leaves["z"]]

    @task(trigger_rule="all_done")
    def look(**context):
        for task_id in ("first", "all_except", "pick", "into_group"):
            rec(context, f"xcom_{task_id}", context["ti"].xcom_pull(task_ids=task_id))

    # After the leaves: a task right after a skipping one would be skipped with them.
    [*leaves.values(), inner] >> look()
