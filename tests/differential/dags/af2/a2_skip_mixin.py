"""An operator of a team's own skips some of its direct downstream tasks through SkipMixin
(Airflow 2's skip(dag_run, execution_date, tasks)), another all but one
(skip_all_except); the tasks right after them read from downstream_list."""

from airflow import DAG
from airflow.models import BaseOperator, SkipMixin
from airflow.operators.empty import EmptyOperator
from difrec import START, rec


class SkipB(BaseOperator, SkipMixin):
    def execute(self, context):
        after = context["task"].downstream_list
        rec(context, "downstream", sorted(t.task_id for t in after))
        skipped = [t for t in after if t.task_id == "b"]
        self.skip(context["dag_run"], context["ti"].execution_date, skipped)


class OnlyC(BaseOperator, SkipMixin):
    def execute(self, context):
        self.skip_all_except(context["ti"], "c")


with DAG("a2_skip_mixin", schedule_interval=None, start_date=START, catchup=False):
    first = SkipB(task_id="first")
    first >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b")]
    second = OnlyC(task_id="second")
    second >> [EmptyOperator(task_id="c"), EmptyOperator(task_id="d")]
