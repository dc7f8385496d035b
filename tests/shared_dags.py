"""DAG files that more than one test module runs, written once.

Imported as ``shared_dags`` (``tests/`` is on ``sys.path``, as for ``conftest``).
"""

#: A DAG with typed params (an integer with a minimum, an enum, a string's lengths, a plain
#: value), for the params form, the API's trigger checks and ``run_dag``'s conf checks.
PARAMS_DAG = """
from conveyor import DAG, Param, task
from datetime import datetime

with DAG(
    "typed",
    start_date=datetime(2024, 1, 1),
    params={
        "n": Param(5, type="integer", minimum=1, description="How many rows to load"),
        "mode": Param("fast", enum=["fast", "slow"]),
        "name": Param("x", type="string", minLength=1, maxLength=8),
        "plain": 1.5,
    },
):
    @task
    def show(params=None):
        return params

    show()
"""

#: The body of a DAG (under its ``with DAG(...):``): a task ``each`` mapped over 0, 1 and 2
#: that prints its value, fails for 1 ("one is bad") and returns ten times the others.
MAPPED_EACH = """
    @task
    def each(x):
        print(f"instance with x={x}")
        if x == 1:
            raise ValueError("one is bad")
        return x * 10

    each.expand(x=[0, 1, 2])
"""


def timeline_dags(prefix: str, orders: str, rows: int) -> str:
    """DAGs for the timeline and assets views, their ids starting ``prefix``: ``_flaky`` (a
    task that fails its first try and succeeds its retry, then a task mapped over two
    values), ``_producer`` (an event of the asset ``orders`` with the extra ``{"rows":
    rows}``), ``_consumer`` (scheduled on that asset) and ``_controller`` (a trigger of the
    consumer and a sensor on the producer)."""
    return f"""
from datetime import timedelta

from airflow.sdk import DAG, Asset, task
from airflow.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sensors.external_task import ExternalTaskSensor

ORDERS = Asset({orders!r})

with DAG("{prefix}_flaky", schedule=None):
    @task(retries=1, retry_delay=timedelta(seconds=0))
    def flaky(ti=None):
        if ti.try_number == 1:
            raise RuntimeError("the first try fails on purpose")
        return "second time lucky"

    @task
    def each(x):
        return x * 2

    flaky() >> each.expand(x=[1, 2])

with DAG("{prefix}_producer", schedule=None):
    @task(outlets=[ORDERS])
    def make(outlet_events=None):
        outlet_events[ORDERS].extra = {{"rows": {rows}}}

    make()

with DAG("{prefix}_consumer", schedule=[ORDERS]):
    @task
    def use():
        return "used"

    use()

with DAG("{prefix}_controller", schedule=None):
    TriggerDagRunOperator(task_id="kick", trigger_dag_id="{prefix}_consumer")
    ExternalTaskSensor(task_id="wait", external_dag_id="{prefix}_producer", external_task_id="make")
"""


def fan_dag(dag_id: str, width: int, max_active_tasks: int) -> str:
    """A DAG file: ``start``, then ``width`` tasks ``t0000``, ``t0001``... after it, then
    ``end`` after them all (a wide fan-out and fan-in)."""
    return f"""
from conveyor import DAG, EmptyOperator

with DAG("{dag_id}", max_active_tasks={max_active_tasks}) as dag:
    start, end = EmptyOperator(task_id="start"), EmptyOperator(task_id="end")
    for i in range({width}):
        start >> EmptyOperator(task_id=f"t{{i:04d}}") >> end
"""
