"""An operator of a team's own skips some of its direct downstream tasks through SkipMixin
(Airflow 3's skip(ti, tasks)), another all but a task group (skip_all_except); the tasks
right after them read from get_direct_relatives."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, BaseOperator, SkipMixin, TaskGroup
from difrec import START, rec


class SkipB(BaseOperator, SkipMixin):
    def execute(self, context):
        after = context["task"].get_direct_relatives(upstream=False)
        rec(context, "downstream", sorted(t.task_id for t in after))
        self.skip(context["ti"], [t for t in after if t.task_id == "b"])


class OnlyGroup(BaseOperator, SkipMixin):
    def execute(self, context):
        self.skip_all_except(context["ti"], ["grp"])


with DAG("skip_mixin", schedule=None, start_date=START, catchup=False):
    first = SkipB(task_id="first")
    first >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b")]
    second = OnlyGroup(task_id="second")
    with TaskGroup("grp") as grp:
        EmptyOperator(task_id="inner")
    second >> [grp, EmptyOperator(task_id="d")]
