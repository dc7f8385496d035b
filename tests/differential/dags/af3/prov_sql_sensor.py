"""SqlSensor in poke mode that succeeds at its first poke, with success= and parameters."""

from airflow.providers.common.sql.sensors.sql import SqlSensor
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("prov_sql_sensor", schedule=None, start_date=START, catchup=False):
    plain = SqlSensor(
        task_id="plain", conn_id="diffsuite_sql", sql="SELECT 1", poke_interval=1, timeout=30
    )
    judged = SqlSensor(
        task_id="judged",
        conn_id="diffsuite_sql",
        sql="SELECT %(n)s::int",
        parameters={"n": 5},
        success=lambda value: value == 5,
        poke_interval=1,
        timeout=30,
    )

    @task
    def look(**context):
        rec(context, "plain", context["ti"].xcom_pull(task_ids="plain"))
        rec(context, "judged", context["ti"].xcom_pull(task_ids="judged"))

    [plain, judged] >> look()
