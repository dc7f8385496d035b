"""A task asks about runs and task instances through its ti (the task SDK's lookups): the
run's state, how many runs and instances there are by state, task, group and map index, the
states of the run's instances, and the run and instance before (none in a first run)."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, TaskGroup, task
from difrec import START, rec

with DAG("ti_lookups", schedule=None, start_date=START, catchup=False):
    first = EmptyOperator(task_id="first")
    with TaskGroup("grp") as grp:
        EmptyOperator(task_id="one") >> EmptyOperator(task_id="two")

    @task
    def double(x):
        return 2 * x

    mapped = double.expand(x=[1, 2])

    @task
    def ask(**context):
        ti, run_id, me = context["ti"], context["run_id"], "ti_lookups"
        rec(context, "dagrun_state", ti.get_dagrun_state(dag_id=me, run_id=run_id))
        rec(context, "dr_count", ti.get_dr_count(dag_id=me))
        rec(context, "dr_count_success", ti.get_dr_count(dag_id=me, states=["success"]))
        rec(context, "dr_count_this_run", ti.get_dr_count(dag_id=me, run_ids=[run_id]))
        rec(context, "dr_count_elsewhere", ti.get_dr_count(dag_id=me, run_ids=["nowhere"]))
        rec(context, "ti_count", ti.get_ti_count(dag_id=me))
        rec(context, "ti_count_success", ti.get_ti_count(dag_id=me, states=["success"]))
        rec(context, "ti_count_null", ti.get_ti_count(dag_id=me, states=["null"]))
        rec(context, "ti_count_group", ti.get_ti_count(dag_id=me, task_group_id="grp"))
        second = ti.get_ti_count(dag_id=me, task_ids=["double"], map_index=1)
        rec(context, "ti_count_index_1", second)
        states = ti.get_task_states(dag_id=me, run_ids=[run_id])
        rec(context, "task_states", list(states.values()))
        grp_states = ti.get_task_states(dag_id=me, task_group_id="grp")
        rec(context, "group_states", list(grp_states.values()))
        rec(context, "previous_ti", ti.get_previous_ti())
        rec(context, "previous_dagrun", ti.get_previous_dagrun())

    [first, grp, mapped] >> ask() >> EmptyOperator(task_id="after")
