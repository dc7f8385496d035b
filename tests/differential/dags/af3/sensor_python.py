"""@task.sensor pokes until it returns True; its PokeReturnValue's xcom is the XCom."""

from airflow.sdk import DAG, PokeReturnValue, task
from difrec import START, rec

with DAG("sensor_python", schedule=None, start_date=START, catchup=False):

    @task.sensor(poke_interval=1, timeout=30, mode="poke")
    def ready():
        return PokeReturnValue(is_done=True, xcom_value="found")

    @task
    def see(value, **context):
        rec(context, "value", value)

    see(ready())
