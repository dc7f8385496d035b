"""A retry resumes from the task state and asset state its failed try stored (Airflow 3.3);
each instance of a mapped task has its own task state."""

from datetime import timedelta

from airflow.sdk import DAG, Asset, task
from airflow.sdk.execution_time.context import NEVER_EXPIRE
from difrec import START, rec

CURSOR = Asset(name="diffsuite_state_cursor", uri="file:///diffsuite/state_cursor")

with DAG("state_store_resume", schedule=None, start_date=START, catchup=False):

    @task(retries=1, retry_delay=timedelta(seconds=1), outlets=[CURSOR])
    def resume(**context):
        store, assets = context["task_state_store"], context["asset_state_store"]
        rec(context, "pages", store.get("pages", default=[]))
        rec(context, "missing", store.get("nope"))
        rec(context, "cursor", assets[CURSOR].get("cursor", default=0))
        if context["ti"].try_number == 1:
            store.set("pages", [1, 2], retention=NEVER_EXPIRE)
            assets.set("cursor", 7)
            raise RuntimeError("the first try fails after two pages")
        store.delete("pages")
        rec(context, "after_delete", store.get("pages", default="gone"))

    @task
    def mapped(x, **context):
        store = context["task_state_store"]
        rec(context, "before", store.get("x"))
        store.set("x", x * 10)
        rec(context, "after", store.get("x"))

    resume()
    mapped.expand(x=[1, 2])
