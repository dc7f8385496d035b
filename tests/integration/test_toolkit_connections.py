"""Connections and variables for real: stored encrypted, read by tries through the scheduler,
overridden by the environment, rendered in templates, masked in logs, managed by the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from cli_processes import store_cli as cli
from conftest import make_settings
from conveyor.config import Settings
from conveyor.connections import bind, get_connection, repository
from conveyor.connections.crypto import KEY_FILE_NAME
from conveyor.connections.models import Connection
from conveyor.exceptions import ConfigError, NotFoundError
from conveyor.states import RunState, TaskState
from conveyor.store.engine import Store
from conveyor.store.tables import connection, variable
from conveyor.worker.runner import log_path_for
from run_env import Env

PASSWORD = "pw-Zq8!xK2v"
TOKEN = "tok-93jfKq0aZ"


def _log(env: Env, settings: Settings, run_pk: int, task_id: str) -> str:
    run = env.dag_runs("uses_secrets")[0]
    assert run.id == run_pk
    return log_path_for(settings, "uses_secrets", run.run_id, task_id, 1).read_text()


USES_SECRETS = """
    from conveyor.connections import Variable, get_connection

    with DAG("uses_secrets", start_date=START):
        @task
        def read():
            wh = get_connection("warehouse")
            token = Variable.get("api_token")
            print(f"connecting as {wh.login} with {wh.password} and token {token}")
            cfg = Variable.get("cfg", deserialize_json=True)
            pinned = get_connection("pinned")
            return {
                "host": wh.host, "port": wh.port, "schema": wh.schema, "extra": wh.extra_dejson,
                "rows": cfg["limits"]["rows"], "pinned_host": pinned.host,
                "missing": Variable.get("nope", default="fallback"),
                "region": Variable.get("region"),
            }

        shell = BashOperator(
            task_id="shell",
            bash_command=(
                "echo host={{ conn.warehouse.host }} rows={{ var.json.cfg.limits.rows }} "
                "region={{ var.value.region }} pw={{ conn.warehouse.password }}"
            ),
        )
        read() >> shell
"""


def test_tries_read_connections_variables_and_templates_with_secrets_masked(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = env.settings()
    uri = f"postgresql://etl:{PASSWORD}@db.internal:6543/sales?sslmode=require"
    repository.set_connection(env.store, settings, Connection.from_uri("warehouse", uri))
    repository.set_variable(env.store, settings, "api_token", TOKEN)
    repository.set_variable(env.store, settings, "cfg", '{"limits": {"rows": 500}}')
    repository.set_variable(env.store, settings, "region", "eu-west")
    monkeypatch.setenv("CONVEYOR_CONN_PINNED", "http://from-env.example:8080")
    monkeypatch.setenv("CONVEYOR_VAR_REGION", "us-east")  # the environment wins
    env.write_dag("uses_secrets.py", USES_SECRETS)
    env.sync()
    run_pk = env.trigger("uses_secrets")
    env.run(run_pk)
    assert env.run_state(run_pk) is RunState.SUCCESS, env.states(run_pk)

    with env.store.read() as conn:
        from conveyor.store.tables import xcom

        value = conn.execute(select(xcom.c.value).where(xcom.c.task_id == "read")).scalar()
    assert value == {
        "host": "db.internal",
        "port": 6543,
        "schema": "sales",
        "extra": {"sslmode": "require"},
        "rows": 500,
        "pinned_host": "from-env.example",
        "missing": "fallback",
        "region": "us-east",
    }
    read_log = _log(env, settings, run_pk, "read")
    assert "connecting as etl with *** and token ***" in read_log
    assert PASSWORD not in read_log and TOKEN not in read_log
    shell_log = _log(env, settings, run_pk, "shell")
    assert "host=db.internal rows=500 region=us-east pw=***" in shell_log
    assert PASSWORD not in shell_log


def test_secrets_are_encrypted_at_rest_and_a_wrong_key_says_so(env: Env) -> None:
    settings = env.settings()
    conn = Connection.from_uri("db", f"postgresql://u:{PASSWORD}@h/d?api_key=k-123456")
    repository.set_connection(env.store, settings, conn)
    repository.set_variable(env.store, settings, "plain", "hello world")
    key_file = settings.home / KEY_FILE_NAME
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    with env.store.read() as db:
        row = db.execute(select(connection)).one()
        stored_var = db.execute(select(variable.c.value)).scalar_one()
    assert PASSWORD not in row.password and "k-123456" not in row.extra
    assert "hello world" not in stored_var
    assert repository.get_connection(env.store, settings, "db").password == PASSWORD

    other = settings.model_copy(
        update={"fernet_key": "kzKEYx4pDj1ve0x0C_kJ0rdvfG2sJq6ZsPhf1V9DGmE="}
    )
    with pytest.raises(ConfigError, match=r"connection 'db' (password|extra) cannot be decrypted"):
        repository.get_connection(env.store, other, "db")
    # Rotation: the new key first, the old one after it, and everything still reads.
    rotated = settings.model_copy(
        update={"fernet_key": f"{other.fernet_key},{key_file.read_text().strip()}"}
    )
    assert repository.get_variable(env.store, rotated, "plain") == "hello world"

    with bind(env.store, settings), pytest.raises(NotFoundError, match="no connection 'nope'"):
        get_connection("nope")


def test_cli_manages_connections_and_variables_masking_secrets(
    tmp_path: Path, store_url: str
) -> None:
    uri = f"postgresql://etl:{PASSWORD}@db.internal:5432/sales"
    added = cli(tmp_path, store_url, "connections", "add", "warehouse", "--uri", uri)
    assert added.returncode == 0, added.stderr
    assert PASSWORD not in added.stdout and "etl:***@db.internal" in added.stdout

    listed = cli(tmp_path, store_url, "connections", "list")
    assert "warehouse" in listed.stdout and "db.internal" in listed.stdout
    assert PASSWORD not in listed.stdout and "***" in listed.stdout
    shown = cli(tmp_path, store_url, "connections", "get", "warehouse")
    assert PASSWORD not in shown.stdout
    revealed = cli(tmp_path, store_url, "connections", "get", "warehouse", "--reveal")
    assert PASSWORD in revealed.stdout

    assert cli(tmp_path, store_url, "variables", "set", "github_token", TOKEN).returncode == 0
    assert cli(tmp_path, store_url, "variables", "set", "rows", "42").returncode == 0
    bad = cli(tmp_path, store_url, "variables", "set", "cfg", "{oops", "--json")
    assert bad.returncode == 1 and "not valid JSON" in bad.stderr
    assert cli(tmp_path, store_url, "variables", "get", "github_token").stdout.strip() == "***"
    got = cli(tmp_path, store_url, "variables", "get", "github_token", "--reveal")
    assert got.stdout.strip() == TOKEN
    assert cli(tmp_path, store_url, "variables", "get", "rows").stdout.strip() == "42"
    listed_vars = cli(tmp_path, store_url, "variables", "list")
    assert TOKEN not in listed_vars.stdout and "42" in listed_vars.stdout

    assert cli(tmp_path, store_url, "variables", "delete", "rows").returncode == 0
    missing = cli(tmp_path, store_url, "variables", "get", "rows")
    assert missing.returncode == 1 and "no variable 'rows'" in missing.stderr
    assert cli(tmp_path, store_url, "connections", "delete", "warehouse").returncode == 0
    gone = cli(tmp_path, store_url, "connections", "get", "warehouse")
    assert gone.returncode == 1 and "no connection 'warehouse'" in gone.stderr

    settings = make_settings(tmp_path, tmp_path, store_url)
    store = Store(store_url)
    try:  # the CLI wrote what the library reads, under the same key
        assert repository.get_variable(store, settings, "github_token") == TOKEN
    finally:
        store.dispose()


def test_a_task_reading_a_missing_connection_fails_naming_it(env: Env) -> None:
    env.write_dag(
        "missing.py",
        """
        with DAG("missing_conn", start_date=START):
            BashOperator(task_id="t", bash_command="echo {{ conn.nowhere.host }}")
        """,
    )
    env.sync()
    run_pk = env.trigger("missing_conn")
    env.run(run_pk)
    assert env.states(run_pk) == {"t": TaskState.FAILED}
    assert "no connection 'nowhere'" in (env.tries(run_pk, "t")[0].error or "")
