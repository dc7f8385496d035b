"""str() of an XComArg in an f-string renders its value at run time."""

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("xcom_str_arg", schedule=None, start_date=START, catchup=False):

    @task
    def name():
        return "world"

    @task
    def see(value, **context):
        rec(context, "value", value)

    n = name()
    hello = BashOperator(task_id="hello", bash_command=f"echo hello {n}")
    n >> hello
    see(hello.output)
