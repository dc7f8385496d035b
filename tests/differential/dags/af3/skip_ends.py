"""An operator's skip() or skip_all_except() that skips a task ends its execute: what
follows the call does not run and no return value is kept; a skip of no task goes on. A
branch that skips nothing keeps what it returned, as it returned it (a task's id, a task
group's id)."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, BaseOperator, SkipMixin, TaskGroup, task
from difrec import START, rec


class SkipThenMore(BaseOperator, SkipMixin):
    def execute(self, context):
        self.skip(context["ti"], [t for t in context["task"].downstream_list if t.task_id == "b"])
        rec(context, "after_skip", True)
        return "after the skip"


class SkipNothing(BaseOperator, SkipMixin):
    def execute(self, context):
        self.skip(context["ti"], [])
        rec(context, "after_empty_skip", True)
        return "kept"


class AllExceptThenMore(BaseOperator, SkipMixin):
    def execute(self, context):
        self.skip_all_except(context["ti"], "c")
        rec(context, "after_skip_all_except", True)
        return "after skip_all_except"


with DAG("skip_ends", schedule=None, start_date=START, catchup=False):
    leaves = {t: EmptyOperator(task_id=t) for t in ("a", "b", "c", "d", "e", "f")}
    SkipThenMore(task_id="first") >> [leaves["a"], leaves["b"]]
    SkipNothing(task_id="nothing") >> leaves["e"]
    AllExceptThenMore(task_id="all_except") >> [leaves["c"], leaves["d"]]

    @task.branch
    def only_one():
        return "f"

    @task.branch
    def into_group():
        return "grp"

    only_one() >> leaves["f"]
    with TaskGroup("grp") as grp:
        inner = EmptyOperator(task_id="inner")
    into_group() >> grp

    @task(trigger_rule="all_done")
    def look(**context):
        for task_id in ("first", "nothing", "all_except", "only_one", "into_group"):
            rec(context, f"xcom_{task_id}", context["ti"].xcom_pull(task_ids=task_id))

    # After the leaves: a task right after a skipping one would be skipped with them.
    [*leaves.values(), inner] >> look()
