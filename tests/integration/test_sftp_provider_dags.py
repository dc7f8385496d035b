"""DAG files in Airflow's spelling that use the sftp provider, run to their end with
``conveyor run`` against a real OpenSSH server's SFTP (``ssh_servers.py``); each test then
reads the files the server holds and what the worker fetched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import ssh_servers
from ssh_servers import SSHServer, connection, failed_keeping_secrets, run

ssh_server = ssh_servers.ssh_server

# A DAG run in a process of its own: slower than the default per-test limit on a busy machine.
pytestmark = [pytest.mark.timeout(300)]

SFTP_DAG = '''
"""Files to and from a server with the sftp provider's operator, sensor and hook."""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.contrib.hooks.sftp_hook import SFTPHook as SFTPHook110
from airflow.contrib.operators.sftp_operator import SFTPOperator as SFTPOperator110
from airflow.contrib.sensors.sftp_sensor import SFTPSensor as SFTPSensor110
from airflow.operators.python import PythonOperator
from airflow.providers.sftp.hooks.sftp import SFTPHook
from airflow.providers.sftp.operators.sftp import SFTPOperation, SFTPOperator
from airflow.providers.sftp.sensors.sftp import SFTPSensor

LOCAL = "@LOCAL@"
REMOTE = "@REMOTE@"


def use_hook():
    hook = SFTPHook(ssh_conn_id="files")
    assert hook.list_directory(f"{REMOTE}/in/deep") == ["a.csv", "b.csv"]
    assert hook.list_directory(f"{REMOTE}/in", recursive=True) == [
        "deep/a.csv", "deep/b.csv", "report.txt",
    ]
    assert hook.list_directory(f"{REMOTE}/none") is None
    described = hook.describe_directory(f"{REMOTE}/in")
    assert sorted(described) == ["deep", "report.txt"], described
    assert described["deep"]["type"] == "dir" and described["report.txt"]["type"] == "file"
    assert described["report.txt"]["size"] == 16, described
    assert described["report.txt"]["modify"] == hook.get_mod_time(f"{REMOTE}/in/report.txt")
    assert len(hook.get_mod_time(f"{REMOTE}/in/report.txt")) == 14
    assert hook.isdir(f"{REMOTE}/in") and not hook.isfile(f"{REMOTE}/in")
    assert hook.isfile(f"{REMOTE}/in/report.txt") and not hook.isdir(f"{REMOTE}/in/report.txt")
    assert hook.path_exists(f"{REMOTE}/in") and not hook.path_exists(f"{REMOTE}/nothing")
    assert hook.create_directory(f"{REMOTE}/made/by/hook") is None
    assert hook.store_file(f"{REMOTE}/made/by/hook/copy.txt", f"{LOCAL}/report.txt") is None
    assert hook.retrieve_file(f"{REMOTE}/in/deep/a.csv", f"{LOCAL}/fetched_a.csv") is None
    assert hook.get_file_by_pattern(f"{REMOTE}/in/deep", "*.csv") == "a.csv"
    hook.store_file(f"{REMOTE}/made/gone.txt", f"{LOCAL}/report.txt")
    hook.create_directory(f"{REMOTE}/trash/sub")
    hook.store_file(f"{REMOTE}/trash/sub/x.txt", f"{LOCAL}/report.txt")
    assert hook.delete_file(f"{REMOTE}/made/gone.txt") is None
    old = SFTPHook110(ftp_conn_id="files")
    client = old.get_conn()  # a paramiko SFTPClient, kept open until close_conn
    assert client.listdir(f"{REMOTE}/in/deep") in (["a.csv", "b.csv"], ["b.csv", "a.csv"])
    assert old.isdir(f"{REMOTE}/made/by") and old.get_conn() is client
    old.close_conn()
    ok, message = SFTPHook(ssh_conn_id="files").test_connection()
    assert ok, message


def check(ti):
    assert ti.xcom_pull(task_ids="put_one") == f"{LOCAL}/report.txt"
    assert ti.xcom_pull(task_ids="wait_pattern") == {
        "files_found": [f"{REMOTE}/in/deep/a.csv", f"{REMOTE}/in/deep/b.csv"],
        "decorator_return_value": "saw 2",
    }


def saw(files_found):
    return f"saw {len(files_found)}"


with DAG("sftp_dag", start_date=datetime(2024, 1, 1), schedule_interval=None) as dag:
    put_one = SFTPOperator(
        task_id="put_one", ssh_conn_id="files",
        local_filepath="{{ params.local }}/report.txt", remote_filepath=f"{REMOTE}/in/report.txt",
        operation=SFTPOperation.PUT, params={"local": LOCAL},
    )
    put_many = SFTPOperator110(
        task_id="put_many", ssh_conn_id="files",
        local_filepath=[f"{LOCAL}/a.csv", f"{LOCAL}/b.csv"],
        remote_filepath=[f"{REMOTE}/in/deep/a.csv", f"{REMOTE}/in/deep/b.csv"],
        operation="put", create_intermediate_dirs=True,
    )
    wait_file = SFTPSensor(
        task_id="wait_file", sftp_conn_id="files", path=f"{REMOTE}/in/report.txt",
        # The day the run is for: modification times have whole seconds only.
        newer_than="{{ ds }}", poke_interval=0.2, timeout=60,
    )
    wait_pattern = SFTPSensor110(
        task_id="wait_pattern", sftp_conn_id="files", path=f"{REMOTE}/in/deep",
        file_pattern="*.csv", python_callable=saw, op_kwargs={"files_found": None},
        mode="reschedule", poke_interval=0.2, timeout=60,
    )
    get_back = SFTPOperator(
        task_id="get_back", ssh_conn_id="files",
        local_filepath=f"{LOCAL}/back/again/b.csv", remote_filepath=f"{REMOTE}/in/deep/b.csv",
        operation=SFTPOperation.GET, create_intermediate_dirs=True,
    )
    hooked = PythonOperator(task_id="use_hook", python_callable=use_hook)
    check_it = PythonOperator(task_id="check", python_callable=check)
    delete = SFTPOperator(
        task_id="delete", ssh_conn_id="files", operation=SFTPOperation.DELETE,
        remote_filepath=[f"{REMOTE}/trash", f"{REMOTE}/no-such-file"],
    )
    put_one >> wait_file
    put_many >> wait_pattern >> get_back
    [wait_file, get_back] >> hooked >> check_it >> delete
'''


def test_an_sftp_dag_runs_to_success(tmp_path: Path, ssh_server: SSHServer) -> None:
    local, remote = tmp_path / "local", tmp_path / "server" / "files"
    local.mkdir()
    (remote / "in").mkdir(parents=True)
    (local / "report.txt").write_text("sixteen bytes!!\n")
    (local / "a.csv").write_text("a,1\n")
    (local / "b.csv").write_text("b,2\n")
    source = SFTP_DAG.replace("@LOCAL@", str(local)).replace("@REMOTE@", str(remote))
    done = run(
        tmp_path,
        "sftp_dag.py",
        source,
        {
            "AIRFLOW_CONN_FILES": connection(
                ssh_server, key_file=str(ssh_server.key_file), host_key=ssh_server.host_key
            )
        },
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output + ssh_server.logs()[-3000:]
    assert (remote / "in" / "report.txt").read_text() == "sixteen bytes!!\n"
    assert (remote / "in" / "deep" / "a.csv").read_text() == "a,1\n"
    assert (remote / "made" / "by" / "hook" / "copy.txt").read_text() == "sixteen bytes!!\n"
    assert not (remote / "made" / "gone.txt").exists()
    assert not (remote / "trash").exists()
    assert (local / "back" / "again" / "b.csv").read_text() == "b,2\n"
    assert (local / "fetched_a.csv").read_text() == "a,1\n"
    assert "Starting session: subsystem 'sftp'" in ssh_server.logs()


BAD_SFTP_DAG = """
from datetime import datetime

from airflow import DAG
from airflow.providers.sftp.operators.sftp import SFTPOperator
from airflow.providers.sftp.sensors.sftp import SFTPSensor

with DAG("bad_sftp", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    SFTPOperator(task_id="wrong_password", ssh_conn_id="sftp_wrong_password",
                 local_filepath="/etc/hostname", remote_filepath="/tmp/never")
    SFTPSensor(task_id="unknown_key", sftp_conn_id="sftp_unknown_key", path="/tmp",
               poke_interval=0.1, timeout=10)
    SFTPOperator(task_id="missing_remote", ssh_conn_id="sftp_ok", operation="get",
                 local_filepath="@LOCAL@/x", remote_filepath="/no/such/remote/file")
"""


def test_bad_sftp_connections_fail_naming_the_connection_never_the_secret(
    tmp_path: Path, ssh_server: SSHServer
) -> None:
    secret = "Wr0ng-Pa55word-43"
    stranger = ssh_server.stranger_key_file.read_text()
    wrong_password = json.loads(
        connection(ssh_server, look_for_keys="false", no_host_key_check="true")
    )
    wrong_password["password"] = secret
    done = run(
        tmp_path,
        "bad_sftp.py",
        BAD_SFTP_DAG.replace("@LOCAL@", str(tmp_path)),
        {
            "AIRFLOW_CONN_SFTP_WRONG_PASSWORD": json.dumps(wrong_password),
            "AIRFLOW_CONN_SFTP_UNKNOWN_KEY": connection(
                ssh_server, private_key=stranger, host_key=ssh_server.host_key
            ),
            "AIRFLOW_CONN_SFTP_OK": connection(
                ssh_server, key_file=str(ssh_server.key_file), host_key=ssh_server.host_key
            ),
        },
    )
    output, _ = failed_keeping_secrets(done, tmp_path, secret, stranger)
    assert "SFTP connection 'sftp_wrong_password'" in output
    assert "SFTP connection 'sftp_unknown_key'" in output
    assert output.count("Authentication failed") >= 2
    assert "error while processing GET operation" in output and "/no/such/remote/file" in output
    for task_id in ("wrong_password", "unknown_key", "missing_remote"):
        assert f"{task_id} failed on try 1" in output, task_id


def test_conveyor_dags_validate_finds_nothing_to_change_in_these_files() -> None:
    from conveyor.airflow_compat.lint import check_source

    for source in (SFTP_DAG, BAD_SFTP_DAG):
        assert check_source(source) == []
