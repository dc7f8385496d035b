"""A file defines the DAGs in its globals and those used with `with`."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from difrec import START

first = DAG("defs_global_kept", schedule=None, start_date=START, catchup=False)
EmptyOperator(task_id="a", dag=first)

with DAG("defs_with_only", schedule=None, start_date=START, catchup=False):
    EmptyOperator(task_id="b")


def build():
    # Built without `with` and dropped: not a DAG of the file on Airflow.
    dropped = DAG("defs_dropped", schedule=None, start_date=START, catchup=False)
    EmptyOperator(task_id="c", dag=dropped)
    return None


build()
