"""Label between tasks changes no dependency."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Label
from difrec import START

with DAG("label_edges", schedule=None, start_date=START, catchup=False):
    a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
    a >> Label("then") >> b
