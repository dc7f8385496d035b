"""A DAG whose builder caught an error and left it out of globals is not defined."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from difrec import START


def build(name):
    dag = DAG(name, schedule=None, start_date=START, catchup=False)
    try:
        EmptyOperator(task_id="first", dag=dag)
        raise ValueError("the factory's config is wrong")
    except ValueError:
        return None
    return dag


built = build("defs_factory_half")
