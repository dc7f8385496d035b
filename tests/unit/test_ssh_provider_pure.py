"""The ssh and sftp providers' parts that need no server: every import path, the
missing-extra line, and how ``SSHHook`` reads its keywords and an ``ssh`` connection (keys,
host keys, timeouts), with errors that name the connection and never show a key or
passphrase; the SFTP operator's checks of its arguments."""

from __future__ import annotations

import base64
import importlib
import io
import json
import sys
from typing import Any

import paramiko
import pytest

from airflow_hook_on import assert_import_names_the_extra, assert_paths_give
from conveyor.exceptions import TaskError
from conveyor.providers.sftp import operator as sftp_operator
from conveyor.providers.sftp import sensor as sftp_sensor
from conveyor.providers.sftp.hook import SFTPHook, SFTPOperation
from conveyor.providers.ssh import hook as ssh_hook
from conveyor.providers.ssh import operator as ssh_operator
from conveyor.providers.ssh.hook import SSHConnectionError, SSHHook

AIRFLOW_PATHS: dict[str, dict[str, type]] = {
    "airflow.providers.ssh.hooks.ssh": {"SSHHook": SSHHook},
    "airflow.providers.ssh.operators.ssh": {"SSHOperator": ssh_operator.SSHOperator},
    "airflow.contrib.hooks.ssh_hook": {"SSHHook": SSHHook},
    "airflow.contrib.operators.ssh_operator": {"SSHOperator": ssh_operator.SSHOperator},
    "airflow.providers.sftp.hooks.sftp": {"SFTPHook": SFTPHook},
    "airflow.providers.sftp.operators.sftp": {"SFTPOperator": sftp_operator.SFTPOperator},
    "airflow.providers.sftp.sensors.sftp": {"SFTPSensor": sftp_sensor.SFTPSensor},
    "airflow.contrib.hooks.sftp_hook": {"SFTPHook": SFTPHook},
    "airflow.contrib.operators.sftp_operator": {"SFTPOperator": sftp_operator.SFTPOperator},
    "airflow.contrib.sensors.sftp_sensor": {"SFTPSensor": sftp_sensor.SFTPSensor},
}


@pytest.fixture(scope="module")
def rsa_key() -> paramiko.RSAKey:
    return paramiko.RSAKey.generate(2048)


def pem(key: paramiko.PKey, passphrase: str | None = None) -> str:
    text = io.StringIO()
    key.write_private_key(text, password=passphrase)
    return text.getvalue()


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> None:
    fields.setdefault("conn_type", "ssh")
    fields.setdefault("host", "box.example")
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def test_every_path_users_import_from_gives_conveyors_class(airflow_hook: None) -> None:
    assert_paths_give(AIRFLOW_PATHS)
    operators = importlib.import_module("airflow.providers.sftp.operators.sftp")
    assert operators.SFTPOperation.PUT == "put" and operators.SFTPOperation is SFTPOperation


def test_a_missing_paramiko_fails_the_import_naming_the_extra(
    airflow_hook: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if paramiko were not installed: the module is imported again without it.
    monkeypatch.setitem(sys.modules, "paramiko", None)
    monkeypatch.delitem(sys.modules, "conveyor.providers.ssh.hook")
    monkeypatch.delitem(sys.modules, "conveyor.providers.ssh.operator")
    assert_import_names_the_extra(
        "airflow.providers.ssh.operators.ssh",
        "SSHOperator",
        "ssh",
        "from airflow.contrib.hooks.ssh_hook import SSHHook\n",
    )


def test_keywords_win_over_the_connection_and_defaults_are_airflows(
    airflow_hook: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_connection(
        monkeypatch,
        "box",
        port=2222,
        login="deploy",
        password="pw-of-deploy",
        extra={"key_file": "/keys/id", "conn_timeout": "7", "cmd_timeout": "", "compress": "false"},
    )
    found = SSHHook(ssh_conn_id="box", username="other")
    assert (found.remote_host, found.port, found.username, found.password) == (
        "box.example",
        2222,
        "other",
        "pw-of-deploy",
    )
    assert (found.key_file, found.conn_timeout, found.cmd_timeout) == ("/keys/id", 7, None)
    assert found.compress is False and found.no_host_key_check is False
    plain = SSHHook(remote_host="10.0.0.5", username="u")
    assert (plain.port, plain.conn_timeout, plain.cmd_timeout) == (22, 10, 10)
    assert SSHHook(remote_host="h", username="u", cmd_timeout=None).cmd_timeout is None
    with pytest.raises(TaskError, match="no remote_host"):
        SSHHook(username="u")


def test_a_private_key_with_its_passphrase_and_a_host_key_are_read(
    airflow_hook: None, monkeypatch: pytest.MonkeyPatch, rsa_key: paramiko.RSAKey
) -> None:
    host = paramiko.RSAKey.generate(1024)
    set_connection(
        monkeypatch,
        "keyed",
        extra={
            "private_key": pem(rsa_key, "s3cret-phrase"),
            "private_key_passphrase": "s3cret-phrase",
            "host_key": f"ssh-rsa {host.get_base64()}",
        },
    )
    found = SSHHook(ssh_conn_id="keyed")
    assert found.pkey.get_fingerprint() == rsa_key.get_fingerprint()
    assert found.host_key.get_base64() == host.get_base64()
    client = paramiko.SSHClient()
    found._trust_host_keys(client)
    assert client.get_host_keys().lookup("box.example") is not None


def test_bad_keys_fail_naming_the_connection_never_the_key(
    airflow_hook: None, monkeypatch: pytest.MonkeyPatch, rsa_key: paramiko.RSAKey
) -> None:
    text = pem(rsa_key, "right-phrase")
    set_connection(
        monkeypatch,
        "wrong_phrase",
        extra={"private_key": text, "private_key_passphrase": "wrong-phrase"},
    )
    with pytest.raises(SSHConnectionError) as failed:
        SSHHook(ssh_conn_id="wrong_phrase")
    message = str(failed.value)
    assert "SSH connection 'wrong_phrase'" in message and "private_key cannot be read" in message
    assert "wrong-phrase" not in message
    assert all(line not in message for line in text.splitlines() if len(line) > 40)
    set_connection(monkeypatch, "one_line", extra={"private_key": "AAAAB3Nza-not-a-key"})
    with pytest.raises(SSHConnectionError, match="BEGIN and END") as failed:
        SSHHook(ssh_conn_id="one_line")
    assert "AAAAB3Nza" not in str(failed.value)
    set_connection(monkeypatch, "both", extra={"private_key": pem(rsa_key), "key_file": "/k"})
    with pytest.raises(TaskError, match="key_file or private_key, not both"):
        SSHHook(ssh_conn_id="both")
    host = base64.b64encode(b"x" * 40).decode()
    set_connection(monkeypatch, "dss", extra={"host_key": f"ssh-dss {host}"})
    with pytest.raises(TaskError, match="host_key has type 'ssh-dss'"):
        SSHHook(ssh_conn_id="dss")
    set_connection(
        monkeypatch,
        "contradicts",
        extra={"host_key": f"ssh-rsa {rsa_key.get_base64()}", "no_host_key_check": "true"},
    )
    with pytest.raises(TaskError, match="host key must be checked"):
        SSHHook(ssh_conn_id="contradicts")


def test_the_operator_takes_airflows_keywords(
    airflow_hook: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_connection(monkeypatch, "box", extra={"cmd_timeout": "3"})
    from airflow.providers.ssh.operators.ssh import SSHOperator

    task = SSHOperator(
        task_id="t",
        ssh_conn_id="box",
        command="ls",
        remote_host="other.example",
        skip_on_exit_code=3,
        do_xcom_push=True,
    )
    assert task.hook.remote_host == "other.example" and task.hook.cmd_timeout == 3
    old = SSHOperator(task_id="old", ssh_conn_id="box", command="ls", timeout=4)
    assert old.hook.conn_timeout == 4
    assert 3 in task.skip_on_exit_code
    assert set(SSHOperator.template_fields) == {
        "command",
        "environment",
        "remote_host",
        "ssh_conn_id",
    }
    assert ssh_hook.NOTSET is not None
    with pytest.raises(TaskError, match="needs ssh_hook or ssh_conn_id"):
        _ = SSHOperator(task_id="u", command="ls").hook


def test_sftp_hook_and_operator_take_airflows_keywords(
    airflow_hook: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_connection(monkeypatch, "sftp_default", port=2200)
    set_connection(monkeypatch, "files", conn_type="sftp", login="u")
    assert SFTPHook().ssh_conn_id == "sftp_default" and SFTPHook().port == 2200
    assert SFTPHook(ftp_conn_id="files").username == "u"
    assert SFTPHook(sftp_conn_id="files").ssh_conn_id == "files"
    from airflow.providers.sftp.operators.sftp import SFTPOperator

    with pytest.raises(TaskError, match="unsupported operation 'copy'"):
        SFTPOperator(task_id="t", ssh_conn_id="files", remote_filepath="/r", operation="copy")
    uneven = SFTPOperator(
        task_id="u", ssh_conn_id="files", local_filepath=["/a", "/b"], remote_filepath="/r"
    )
    with pytest.raises(TaskError, match="2 paths in local_filepath != 1 paths"):
        uneven.execute({})
    assert uneven.operation == "put"
