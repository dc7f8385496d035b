"""A branch may name a task group by its id: its first tasks are followed, the rest of the
branch's direct downstream tasks skipped; a team's own BaseBranchOperator does the same."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, BaseBranchOperator, TaskGroup, task
from difrec import START


class ToGroup(BaseBranchOperator):
    def choose_branch(self, context):
        return ["second_grp"]


with DAG("br_group_id", schedule=None, start_date=START, catchup=False):

    @task.branch
    def pick():
        return "grp"

    with TaskGroup("grp") as grp:
        first = EmptyOperator(task_id="first")
        then = EmptyOperator(task_id="then")
        first >> then
    elsewhere = EmptyOperator(task_id="elsewhere")
    pick() >> [grp, elsewhere]

    own = ToGroup(task_id="own")
    with TaskGroup("second_grp") as second_grp:
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
    other = EmptyOperator(task_id="other")
    own >> [second_grp, other]
