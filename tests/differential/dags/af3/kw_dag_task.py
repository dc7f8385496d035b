"""@dag.task on a DAG object makes tasks of that DAG, also outside `with`."""

from airflow.sdk import DAG
from difrec import START, rec

dag = DAG("kw_dag_task", schedule=None, start_date=START, catchup=False)


@dag.task
def first():
    return 3


@dag.task
def second(value, **context):
    rec(context, "value", value)
    rec(context, "dag_id", context["dag"].dag_id)


second(first())
