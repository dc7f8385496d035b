"""@task.external_python and ExternalPythonOperator run the callable in another interpreter
(here the worker's own, by path) and return its value as the XCom; op_args reach it."""

import sys

from airflow.providers.standard.operators.python import ExternalPythonOperator
from airflow.sdk import DAG, task
from difrec import START, rec


def times(a, b):
    return a * b


with DAG("std_external_python", schedule=None, start_date=START, catchup=False):

    @task.external_python(python=sys.executable)
    def answer():
        return {"answer": 6 * 7}

    classic = ExternalPythonOperator(
        task_id="classic", python=sys.executable, python_callable=times, op_args=[3, 5]
    )

    @task
    def see(value, other, **context):
        rec(context, "decorated", value)
        rec(context, "classic", other)

    see(answer(), classic.output)
