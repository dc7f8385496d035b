"""DAG files in Airflow's spelling that use the ssh provider, run to their end with
``conveyor run`` against a real OpenSSH server (``ssh_servers.py``); each test then reads
what the server side saw: the files the commands wrote, and what the tasks pushed.
Connections come from ``AIRFLOW_CONN_<ID>`` (the JSON form) as an Airflow deployment would
set them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import ssh_servers
from ssh_servers import PASSPHRASE, SSHServer, connection, failed_keeping_secrets, run

ssh_server = ssh_servers.ssh_server

# A DAG run in a process of its own: slower than the default per-test limit on a busy machine.
pytestmark = [pytest.mark.timeout(300)]


SSH_DAG = '''
"""Commands on a server with the ssh provider's operator and hook, old and new paths."""
import base64
from datetime import datetime

import paramiko
from airflow import DAG
from airflow.contrib.hooks.ssh_hook import SSHHook as SSHHook110
from airflow.contrib.operators.ssh_operator import SSHOperator as SSHOperator110
from airflow.operators.python import PythonOperator
from airflow.providers.ssh.hooks.ssh import SSHHook
from airflow.providers.ssh.operators.ssh import SSHOperator

OUT = "@OUT@"


def use_hook():
    hook = SSHHook(ssh_conn_id="box_pem", cmd_timeout=20)
    with hook.get_conn() as client:
        assert isinstance(client, paramiko.SSHClient), type(client)
        status, out, err = hook.exec_ssh_client_command(
            client, "printf 'one\\\\ntwo'; printf warn >&2; exit 3",
            get_pty=False, environment=None, timeout=20,
        )
        assert (status, out, err) == (3, b"one\\ntwo", b"warn"), (status, out, err)
        try:  # no output and no end within the timeout
            hook.exec_ssh_client_command(client, "sleep 3", False, None, timeout=1)
        except Exception as exc:
            assert "timed out" in str(exc), exc
        else:
            raise AssertionError("sleep 3 did not time out after 1 second")
        _, stdout, _ = client.exec_command(f"echo by-client > {OUT}/client.txt")
        assert stdout.channel.recv_exit_status() == 0
    assert hook.test_connection() == (True, "Connection successfully tested")


def check(ti):
    greeting = ti.xcom_pull(task_ids="greet")
    assert base64.b64decode(greeting) == b"hello box_dag\\n", greeting
    assert ti.xcom_pull(task_ids="greet", key="ssh_exit") == 0
    listing = base64.b64decode(ti.xcom_pull(task_ids="old_paths")).decode()
    assert listing.split() == ["client.txt", "greeting.txt"], listing


with DAG("box_dag", start_date=datetime(2024, 1, 1), schedule_interval=None) as dag:
    greet = SSHOperator(
        task_id="greet",
        ssh_conn_id="box_keyfile",
        command="echo 'run {{ ds }}' > {{ params.out }}/greeting.txt"
                " && echo hello $CONVEYOR_TEST_WHO",
        environment={"CONVEYOR_TEST_WHO": "{{ dag.dag_id }}"},
        params={"out": OUT},
    )
    hooked = PythonOperator(task_id="use_hook", python_callable=use_hook)
    old_paths = SSHOperator110(
        task_id="old_paths",
        ssh_hook=SSHHook110(ssh_conn_id="box_keyfile"),
        command=f"ls {OUT}",
    )
    skipped = SSHOperator(
        task_id="skipped", ssh_conn_id="box_keyfile", command="exit 42", skip_on_exit_code=42,
    )
    on_pty = SSHOperator(
        task_id="on_pty", ssh_conn_id="box_pem", command=f"tty > {OUT}/../tty.txt",
        get_pty=True, cmd_timeout=30,
    )
    check_it = PythonOperator(task_id="check", python_callable=check)
    [greet, hooked] >> old_paths >> check_it
'''


def test_an_ssh_dag_runs_to_success(tmp_path: Path, ssh_server: SSHServer) -> None:
    out = tmp_path / "server" / "out"
    out.mkdir(parents=True)
    done = run(
        tmp_path,
        "box_dag.py",
        SSH_DAG.replace("@OUT@", str(out)),
        {
            "AIRFLOW_CONN_BOX_KEYFILE": connection(
                ssh_server, key_file=str(ssh_server.key_file), host_key=ssh_server.host_key
            ),
            "AIRFLOW_CONN_BOX_PEM": connection(
                ssh_server,
                private_key=ssh_server.private_key,
                private_key_passphrase=PASSPHRASE,
                no_host_key_check="true",
            ),
        },
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output + ssh_server.logs()[-3000:]
    assert (out / "greeting.txt").read_text().startswith("run 20")
    assert (out / "client.txt").read_text() == "by-client\n"
    assert (tmp_path / "server" / "tty.txt").read_text().startswith("/dev/pts/")
    assert "skipped" in output
    logs = "".join(p.read_text() for p in (tmp_path / "home").rglob("try-*.log"))
    assert "warn" in logs  # stderr of a command is in the try's log
    # The private key and its passphrase were read by tries, and are masked in their logs.
    key_line = ssh_server.private_key.splitlines()[1]
    assert key_line not in logs and PASSPHRASE not in logs


BAD_DAG = """
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.providers.ssh.hooks.ssh import SSHHook
from airflow.providers.ssh.operators.ssh import SSHOperator


def wrong_host():
    SSHHook(ssh_conn_id="ssh_wrong_host", conn_timeout=5).get_conn()


with DAG("bad_ssh", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    PythonOperator(task_id="wrong_host", python_callable=wrong_host)
    SSHOperator(task_id="wrong_password", ssh_conn_id="ssh_wrong_password", command="true")
    SSHOperator(task_id="unknown_key", ssh_conn_id="ssh_unknown_key", command="true")
    SSHOperator(task_id="unknown_host_key", ssh_conn_id="ssh_unknown_host", command="true")
    SSHOperator(task_id="bad_exit", ssh_conn_id="ssh_ok", command="echo oops-on-stderr >&2; exit 5")
"""


def test_bad_ssh_connections_fail_naming_the_connection_never_the_secret(
    tmp_path: Path, ssh_server: SSHServer
) -> None:
    secret = "Wr0ng-Pa55word-42"
    stranger = ssh_server.stranger_key_file.read_text()
    wrong_host = json.loads(connection(ssh_server, look_for_keys="false"))
    wrong_host.update(port=1, password=secret)
    wrong_password = json.loads(
        connection(ssh_server, look_for_keys="false", host_key=ssh_server.host_key)
    )
    wrong_password["password"] = secret
    done = run(
        tmp_path,
        "bad_ssh.py",
        BAD_DAG,
        {
            "AIRFLOW_CONN_SSH_WRONG_HOST": json.dumps(wrong_host),
            "AIRFLOW_CONN_SSH_WRONG_PASSWORD": json.dumps(wrong_password),
            "AIRFLOW_CONN_SSH_UNKNOWN_KEY": connection(
                ssh_server, private_key=stranger, no_host_key_check="true", look_for_keys="false"
            ),
            "AIRFLOW_CONN_SSH_UNKNOWN_HOST": connection(
                ssh_server, key_file=str(ssh_server.key_file)
            ),
            "AIRFLOW_CONN_SSH_OK": connection(
                ssh_server, key_file=str(ssh_server.key_file), host_key=ssh_server.host_key
            ),
        },
    )
    output, logs = failed_keeping_secrets(done, tmp_path, secret, stranger)
    for conn_id in ("ssh_wrong_host", "ssh_wrong_password", "ssh_unknown_key", "ssh_unknown_host"):
        assert f"SSH connection {conn_id!r}" in output, conn_id
    assert output.count("could not connect") >= 4
    assert output.count("Authentication failed") >= 2  # the password, the key
    assert "not found in known_hosts" in output
    assert "exit status = 5" in output and "oops-on-stderr" in logs
    for task_id in ("wrong_host", "wrong_password", "unknown_key", "unknown_host_key", "bad_exit"):
        assert f"{task_id} failed on try 1" in output, task_id


def test_conveyor_dags_validate_finds_nothing_to_change_in_these_files() -> None:
    from conveyor.airflow_compat.lint import check_source

    for source in (SSH_DAG, BAD_DAG):
        assert check_source(source) == []


def test_allow_host_key_change_accepts_a_new_key_of_a_known_server_only(
    tmp_path: Path, ssh_server: SSHServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: a connection with ``allow_host_key_change`` alone, to a server the
    worker has never seen, connected and logged in. Now an unknown server is refused before
    any login is sent; a server known_hosts names is accepted with a changed key."""
    import paramiko

    from conveyor.providers.ssh.hook import SSHConnectionError, SSHHook

    home = tmp_path / "user"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv(
        "AIRFLOW_CONN_SSH_CHANGED",
        connection(
            ssh_server,
            key_file=str(ssh_server.key_file),
            allow_host_key_change="true",
            look_for_keys="false",
        ),
    )
    logins = ssh_server.logs().count("Accepted publickey")
    with pytest.raises(SSHConnectionError, match="not found in known_hosts"):
        SSHHook(ssh_conn_id="ssh_changed").get_conn()
    assert ssh_server.logs().count("Accepted publickey") == logins  # no login was sent
    # Known under its name, with another key than the one it shows: accepted.
    other = paramiko.RSAKey.generate(1024)
    known = f"[127.0.0.1]:{ssh_server.port} ssh-rsa {other.get_base64()}\n"
    (home / ".ssh" / "known_hosts").write_text(known)
    with SSHHook(ssh_conn_id="ssh_changed").get_conn() as client:
        _, stdout, _ = client.exec_command("echo changed-key-accepted")
        assert stdout.read().strip() == b"changed-key-accepted"
