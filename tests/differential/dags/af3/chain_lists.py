"""chain(a, [b, c], [d, e], f) pairs equal-length lists one to one (b to d, c to e)."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, chain, task
from difrec import START, rec

with DAG("chain_lists", schedule=None, start_date=START, catchup=False):
    a, b, c, d, e, f = (EmptyOperator(task_id=t) for t in "abcdef")
    chain(a, [b, c], [d, e], f)

    @task(trigger_rule="all_done")
    def graph(**context):
        dag = context["dag"]
        rec(
            context,
            "upstream",
            {tid: sorted(dag.get_task(tid).upstream_task_ids) for tid in sorted(dag.task_ids)},
        )

    f >> graph()
