"""chain_linear(a, [b, c], [d, e]) links every task of a list to every task of the next."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, chain_linear, task
from difrec import START, rec

with DAG("chain_linear", schedule=None, start_date=START, catchup=False):
    a, b, c, d, e = (EmptyOperator(task_id=t) for t in "abcde")
    chain_linear(a, [b, c], [d, e])

    @task(trigger_rule="all_done")
    def graph(**context):
        dag = context["dag"]
        rec(
            context,
            "upstream",
            {tid: sorted(dag.get_task(tid).upstream_task_ids) for tid in sorted(dag.task_ids)},
        )

    [d, e] >> graph()
