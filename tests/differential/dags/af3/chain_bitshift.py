"""a >> [b, c] << d and set_upstream/set_downstream."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("chain_bitshift", schedule=None, start_date=START, catchup=False):
    a, b, c, d, e = (EmptyOperator(task_id=t) for t in "abcde")
    a >> [b, c] << d
    e.set_upstream(b)
    c.set_downstream(e)

    @task(trigger_rule="all_done")
    def graph(**context):
        dag = context["dag"]
        rec(
            context,
            "upstream",
            {tid: sorted(dag.get_task(tid).upstream_task_ids) for tid in sorted(dag.task_ids)},
        )

    e >> graph()
