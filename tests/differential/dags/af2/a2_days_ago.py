"""days_ago() and the chain helper from airflow.models.baseoperator."""

from airflow import DAG
from airflow.models.baseoperator import chain
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator
from difrec import START, rec


def graph(**context):
    dag = context["dag"]
    rec(
        context,
        "upstream",
        {t: sorted(dag.get_task(t).upstream_task_ids) for t in sorted(dag.task_ids)},
    )


with DAG("a2_days_ago", schedule_interval=None, start_date=START, catchup=False):
    a, b, c, d, e, f = (EmptyOperator(task_id=t) for t in "abcdef")
    chain(a, [b, c], [d, e], f)
    f >> PythonOperator(task_id="graph", python_callable=graph)
