"""A task with an asset outlet sets its event's extra through outlet_events; a task after
it with that asset as an inlet reads the event's extra through inlet_events."""

from airflow.sdk import DAG, Asset, task
from difrec import START, rec

ORDERS = Asset("s3://diffsuite/orders")

with DAG("std_outlet_events", schedule=None, start_date=START, catchup=False):

    @task(outlets=[ORDERS])
    def write(**context):
        context["outlet_events"][ORDERS].extra = {"rows": 3}

    @task(inlets=[ORDERS])
    def read(**context):
        events = context["inlet_events"][ORDERS]
        rec(context, "extras", [event.extra for event in events])

    write() >> read()
