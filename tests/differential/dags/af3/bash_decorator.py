"""@task.bash runs the command the function returns."""

from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("bash_decorator", schedule=None, start_date=START, catchup=False):

    @task.bash
    def say(word):
        return f"echo {word} {{{{ ds_nodash }}}}"

    @task
    def see(value, **context):
        rec(context, "value", value)

    see(say("hi"))
