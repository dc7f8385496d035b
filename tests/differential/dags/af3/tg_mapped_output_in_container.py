"""Inside a mapped task group, a group task's output given to a classic operator inside a
container; one element fails first: the others read their own index's value."""

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, task, task_group
from difrec import START, rec


def show(v, **context):
    rec(context, "v", v)


with DAG("tg_mapped_output_in_container", schedule=None, start_date=START, catchup=False):

    @task
    def tens(x):
        if x == 2:
            raise ValueError("two")
        return x * 10

    @task_group
    def each(x):
        PythonOperator(task_id="py", python_callable=show, op_kwargs={"v": [tens(x), "k"]})

    each.expand(x=[1, 2, 3])
