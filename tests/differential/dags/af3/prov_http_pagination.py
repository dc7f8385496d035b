"""HttpOperator's pagination_function: every page's response reaches response_filter."""

from airflow.providers.http.operators.http import HttpOperator
from airflow.sdk import DAG, task
from difrec import START, rec


def next_page(response):
    following = response.json()["next"]
    return {"data": {"page": following}} if following else None


with DAG("prov_http_pagination", schedule=None, start_date=START, catchup=False):
    pages = HttpOperator(
        task_id="pages",
        http_conn_id="diffsuite_http",
        endpoint="pages",
        method="GET",
        data={"page": 1},
        pagination_function=next_page,
        response_filter=lambda responses: [r.json()["items"] for r in responses],
    )
    texts = HttpOperator(
        task_id="texts",
        http_conn_id="diffsuite_http",
        endpoint="pages",
        method="GET",
        data={"page": 2},
        pagination_function=next_page,
    )

    @task
    def look(**context):
        rec(context, "pages", context["ti"].xcom_pull(task_ids="pages"))
        rec(context, "texts", context["ti"].xcom_pull(task_ids="texts"))

    [pages, texts] >> look()
