"""PythonOperator: op_args and op_kwargs are templated, templates_dict is rendered and
passed, the callable's return value is the XCom, and show_return_value_in_logs=False still
pushes it."""

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from difrec import START, rec


def work(first, second=None, templates_dict=None, **context):
    rec(context, "first", first)
    rec(context, "second", second)
    rec(context, "templates_dict", templates_dict)
    return [first, second]


def read(**context):
    rec(context, "pulled", context["ti"].xcom_pull(task_ids="work"))


with DAG("std_python_operator", schedule=None, start_date=START, catchup=False):
    PythonOperator(
        task_id="work",
        python_callable=work,
        op_args=["{{ ds }}"],
        op_kwargs={"second": "{{ dag.dag_id }}"},
        templates_dict={"run": "{{ run_id | length > 0 }}"},
        show_return_value_in_logs=False,
    ) >> PythonOperator(task_id="read", python_callable=read)
