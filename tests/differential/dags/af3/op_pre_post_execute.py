"""pre_execute= and post_execute= run around execute."""

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from difrec import START, rec


def body(**context):
    rec(context, "step", "execute")
    return 5


with DAG("op_pre_post_execute", schedule=None, start_date=START, catchup=False):
    PythonOperator(
        task_id="work",
        python_callable=body,
        pre_execute=lambda context: rec(context, "step", "pre"),
        post_execute=lambda context, result=None: rec(context, "step", ["post", result]),
    )
