"""HttpHook.run: the response's fields, data as query or form body, json=, headers."""

from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("prov_http_hook", schedule=None, start_date=START, catchup=False):

    @task
    def use(**context):
        get = HttpHook(method="GET", http_conn_id="diffsuite_http")
        response = get.run("json")
        rec(context, "fields", [response.status_code, response.ok, response.reason])
        rec(context, "json", response.json())
        rec(context, "header", response.headers["X-Diffsuite"])
        rec(context, "content", [type(response.content).__name__, len(response.content)])
        rec(context, "query", get.run("echo", data={"a": "1", "b": "two"}).json())
        post = HttpHook(http_conn_id="diffsuite_http")
        rec(context, "method", post.method)
        echoed = post.run("echo", data={"a": "1"}, headers={"X-Custom": "c"}).json()
        rec(context, "form", echoed)
        rec(context, "json_body", post.run("/echo", json={"k": [1, 2]}).json())
        rec(context, "text_body", post.run("echo", data="raw text").json()["body"])

    use()
