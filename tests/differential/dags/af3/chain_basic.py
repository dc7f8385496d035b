"""chain(a, b, [c, d]) links each to the next, a list fanning out."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, chain, task
from difrec import START, rec

with DAG("chain_basic", schedule=None, start_date=START, catchup=False):
    a, b, c, d = (EmptyOperator(task_id=t) for t in "abcd")
    chain(a, b, [c, d])

    @task(trigger_rule="all_done")
    def graph(**context):
        dag = context["dag"]
        rec(
            context,
            "upstream",
            {tid: sorted(dag.get_task(tid).upstream_task_ids) for tid in sorted(dag.task_ids)},
        )

    [c, d] >> graph()
