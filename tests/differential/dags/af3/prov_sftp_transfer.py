"""SFTPOperator put and get on a real sshd's SFTP, with create_intermediate_dirs."""

import os
import shutil
from pathlib import Path

from airflow.providers.sftp.operators.sftp import SFTPOperator
from airflow.sdk import DAG, task
from difrec import START, rec

SHARED = os.environ.get("DIFFSUITE_SSH_DIR", "/nonexistent")
LOCAL = os.path.join(SHARED, "prov_sftp_transfer", "local.txt")
REMOTE = os.path.join(SHARED, "prov_sftp_transfer", "remote", "deep", "file.txt")
BACK = os.path.join(SHARED, "prov_sftp_transfer", "back", "file.txt")

with DAG("prov_sftp_transfer", schedule=None, start_date=START, catchup=False):

    @task
    def make():
        Path(LOCAL).parent.mkdir(parents=True, exist_ok=True)
        Path(LOCAL).write_text("line one\nline two\n")

    put = SFTPOperator(
        task_id="put",
        ssh_conn_id="diffsuite_sftp",
        local_filepath=LOCAL,
        remote_filepath=REMOTE,
        operation="put",
        create_intermediate_dirs=True,
    )
    get = SFTPOperator(
        task_id="get",
        ssh_conn_id="diffsuite_sftp",
        local_filepath=BACK,
        remote_filepath=REMOTE,
        operation="get",
        create_intermediate_dirs=True,
    )

    @task
    def look(**context):
        rec(context, "put_xcom", context["ti"].xcom_pull(task_ids="put") is not None)
        rec(context, "remote", Path(REMOTE).read_text())
        rec(context, "back", Path(BACK).read_text())

    @task(trigger_rule="all_done")
    def clean():
        shutil.rmtree(os.path.join(SHARED, "prov_sftp_transfer"), ignore_errors=True)

    make() >> put >> get >> look() >> clean()
