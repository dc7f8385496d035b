"""@task.run_if and @task.skip_if: a false run_if and a true skip_if skip the task (and what
follows with the default trigger rule); the opposite conditions run it."""

from airflow.sdk import DAG, task
from difrec import START, rec


def has_run_id(context):
    return bool(context["run_id"])


with DAG("std_run_if_skip_if", schedule=None, start_date=START, catchup=False):

    @task.run_if(lambda context: False)
    @task
    def run_if_false(**context):
        rec(context, "ran", True)

    @task.run_if(has_run_id)
    @task
    def run_if_true(**context):
        rec(context, "ran", True)
        return 1

    @task.skip_if(lambda context: True)
    @task
    def skip_if_true(**context):
        rec(context, "ran", True)

    @task.skip_if(lambda context: context["params"].get("missing", False))
    @task
    def skip_if_false(**context):
        rec(context, "ran", True)

    @task
    def after(value, **context):
        rec(context, "value", value)

    run_if_false() >> after.override(task_id="after_skipped")(None)
    after(run_if_true())
    skip_if_true()
    skip_if_false()
