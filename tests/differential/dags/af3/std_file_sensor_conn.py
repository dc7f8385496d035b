"""FileSensor(fs_conn_id=...) looks for a relative filepath under the connection's extra
`path`: a directory with files in it is found."""

from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.sdk import DAG, task
from difrec import START, rec

with DAG("std_file_sensor_conn", schedule=None, start_date=START, catchup=False):

    @task
    def after(**context):
        rec(context, "found", True)

    FileSensor(task_id="relative", fs_conn_id="diffsuite_fs", filepath="tmp") >> after()
