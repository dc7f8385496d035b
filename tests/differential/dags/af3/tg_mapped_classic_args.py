"""A classic operator inside a mapped task group given the group's argument, at the top of a
keyword and inside one: each instance gets its element."""

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, task_group
from difrec import START, rec


def show(v, **context):
    rec(context, "v", v)


with DAG("tg_mapped_classic_args", schedule=None, start_date=START, catchup=False):

    @task_group
    def each(command):
        PythonOperator(task_id="py", python_callable=show, op_kwargs={"v": [command, "k"]})
        BashOperator(task_id="bash", bash_command=command)

    each.expand(command=["echo a", "echo b"])
