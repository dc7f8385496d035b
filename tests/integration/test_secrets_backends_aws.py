"""AWS Secrets Manager and Parameter Store as secrets backends, against moto's server: the
lookup order (backend, environment, store), Airflow's backend arguments, a backend that
refuses or cannot be reached, the CLI, and a try on the local executor whose log masks what
it read."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import s3_server
from moto.core.authorization import enable_iam_authentication
from s3_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

from cli_processes import store_cli
from conftest import make_settings
from conveyor.config import Settings
from conveyor.connections import backends, repository
from conveyor.connections.models import Connection
from conveyor.exceptions import NotFoundError
from conveyor.states import RunState
from conveyor.store.engine import Store
from conveyor.worker.runner import log_path_for
from run_env import Env

# moto's server (every AWS API it fakes), once for the module.
aws_endpoint = s3_server.s3_endpoint

SECRETS_MANAGER = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
PARAMETER_STORE = (
    "airflow.providers.amazon.aws.secrets.systems_manager.SystemsManagerParameterStoreBackend"
)


@pytest.fixture(autouse=True)
def _fresh_backends(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_server.ISOLATED.items():
        monkeypatch.setenv(name, value)
    backends.forget_loaded()
    yield
    backends.forget_loaded()


def _client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


def _kwargs(endpoint: str, **more: Any) -> dict[str, Any]:
    return {
        "endpoint_url": endpoint,
        "region_name": REGION,
        "aws_access_key_id": ACCESS_KEY_ID,
        "aws_secret_access_key": SECRET_ACCESS_KEY,
        **more,
    }


def _settings(tmp_path: Path, store: Store, backend: str, kwargs: dict[str, Any]) -> Settings:
    return make_settings(
        tmp_path,
        tmp_path / "dags",
        store.url,
        secrets_backend=backend,
        secrets_backend_kwargs=kwargs,
    )


def _prefix() -> str:
    """A prefix no other test uses on the module's server."""
    return f"t{uuid.uuid4().hex[:10]}"


def test_secrets_manager_comes_before_the_environment_and_the_store(
    tmp_path: Path, store: Store, aws_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    top = _prefix()
    sm = _client(aws_endpoint, "secretsmanager")
    sm.create_secret(
        Name=f"{top}/connections/warehouse",
        SecretString="postgresql://etl:wh-Pass-4411@db.internal:5432/dw",
    )
    # Airflow's other words for the fields: user, server, database, engine.
    sm.create_secret(
        Name=f"{top}/connections/crm",
        SecretString=json.dumps(
            {
                "engine": "mysql",
                "user": "crm_app",
                "password": "crm-Pass-9",
                "server": "crm.internal",
                "port": 3306,
                "database": "crm",
                "extra": {"charset": "utf8mb4"},
            }
        ),
    )
    sm.create_secret(Name=f"{top}/variables/region", SecretString="eu-west-3")
    settings = _settings(
        tmp_path,
        store,
        SECRETS_MANAGER,
        _kwargs(
            aws_endpoint,
            connections_prefix=f"{top}/connections",
            variables_prefix=f"{top}/variables",
        ),
    )
    repository.set_connection(store, settings, Connection.from_uri("warehouse", "sqlite://"))
    repository.set_connection(store, settings, Connection.from_uri("only_stored", "http://h"))
    repository.set_variable(store, settings, "region", "stored-region")
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", "http://from-env")
    monkeypatch.setenv("AIRFLOW_VAR_BUCKET", "env-bucket")

    warehouse = repository.get_connection(store, settings, "warehouse")
    assert (warehouse.conn_type, warehouse.host, warehouse.password) == (
        "postgres",  # a postgresql:// URI is typed postgres, as Airflow types it
        "db.internal",
        "wh-Pass-4411",
    )
    assert warehouse.description == f"from {SECRETS_MANAGER}"
    crm = repository.get_connection(store, settings, "crm")
    assert (crm.conn_type, crm.login, crm.host, crm.port, crm.schema) == (
        "mysql",
        "crm_app",
        "crm.internal",
        3306,
        "crm",
    )
    assert crm.password == "crm-Pass-9" and crm.extra_dejson == {"charset": "utf8mb4"}
    assert repository.get_connection(store, settings, "only_stored").host == "h"
    entry = repository.get_variable_entry(store, settings, "region")
    assert entry is not None and entry.value == "eu-west-3"
    assert repository.get_variable(store, settings, "bucket") == "env-bucket"
    # The web reads the environment and the store alone.
    assert repository.get_connection(store, settings, "warehouse", secrets_backend=False).host == (
        "from-env"
    )
    assert repository.get_variable_entry(
        store, settings, "region", secrets_backend=False
    ) == repository.VariableEntry("region", "stored-region", None, False)


def test_airflows_backend_arguments(tmp_path: Path, store: Store, aws_endpoint: str) -> None:
    top = _prefix()
    sm = _client(aws_endpoint, "secretsmanager")
    sm.create_secret(Name=f"{top}:conns:prod_db", SecretString="postgresql://a:b@prod/x")
    sm.create_secret(Name=f"{top}:conns:dev_db", SecretString="postgresql://a:b@dev/x")
    sm.create_secret(
        Name=f"{top}:conns:svc",
        SecretString=json.dumps({"conn_type": "http", "host": "svc", "api_user": "robot"}),
    )
    sm.create_secret(Name=f"{top}:vars:region", SecretString="eu-central-1")
    settings = _settings(
        tmp_path,
        store,
        SECRETS_MANAGER,
        _kwargs(
            aws_endpoint,
            connections_prefix=f"{top}:conns",
            variables_prefix=None,  # variables are not looked up
            sep=":",
            connections_lookup_pattern="^PROD_|^svc$",  # case-insensitive, as in Airflow
            extra_conn_words={"user": ["api_user"]},
        ),
    )
    repository.set_variable(store, settings, "region", "stored")
    assert repository.get_connection(store, settings, "prod_db").host == "prod"
    with pytest.raises(NotFoundError):
        repository.get_connection(store, settings, "dev_db")  # outside the pattern
    assert repository.get_connection(store, settings, "svc").login == "robot"
    assert repository.get_variable(store, settings, "region") == "stored"


def test_parameter_store_reads_secure_strings(
    tmp_path: Path, store: Store, aws_endpoint: str
) -> None:
    top = _prefix()
    ssm = _client(aws_endpoint, "ssm")
    ssm.put_parameter(
        Name=f"/{top}/connections/broker",
        Value="amqp://guest:broker-Pw-12@mq.internal:5672/vh",
        Type="SecureString",
    )
    ssm.put_parameter(
        Name=f"/{top}/connections/api",
        Value=json.dumps({"conn_type": "http", "host": "api.internal", "password": "tok-77"}),
        Type="SecureString",
    )
    ssm.put_parameter(Name=f"/{top}/variables/api_token", Value="tok-Var-31", Type="SecureString")
    ssm.put_parameter(Name=f"/{top}/variables/rows", Value="42", Type="String")
    settings = _settings(
        tmp_path,
        store,
        PARAMETER_STORE,
        _kwargs(
            aws_endpoint,
            connections_prefix=f"/{top}/connections/",  # a trailing '/' is dropped
            variables_prefix=f"/{top}/variables",
        ),
    )
    broker = repository.get_connection(store, settings, "broker")
    assert (broker.conn_type, broker.password, broker.schema) == ("amqp", "broker-Pw-12", "vh")
    assert repository.get_connection(store, settings, "api").password == "tok-77"
    token = repository.get_variable_entry(store, settings, "api_token")
    assert token is not None and token.value == "tok-Var-31" and token.masked
    rows = repository.get_variable_entry(store, settings, "rows")
    assert rows is not None and rows.value == "42" and not rows.masked
    assert repository.get_variable_entry(store, settings, "absent") is None


def _user_who_may_only(endpoint: str, action: str) -> dict[str, str]:
    """Keys of a new IAM user whose one policy allows ``action`` alone."""
    iam = _client(endpoint, "iam")
    name = f"reader-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}],
    }
    iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


def test_access_denied_is_named_and_the_store_answers(
    tmp_path: Path, store: Store, aws_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    top = _prefix()
    _client(aws_endpoint, "secretsmanager").create_secret(
        Name=f"{top}/variables/region", SecretString="from-backend"
    )
    keys = _user_who_may_only(aws_endpoint, "secretsmanager:DescribeSecret")
    kwargs = {**_kwargs(aws_endpoint, variables_prefix=f"{top}/variables"), **keys}
    settings = _settings(tmp_path, store, SECRETS_MANAGER, kwargs)
    repository.set_variable(store, settings, "region", "stored-region")
    caplog.set_level(logging.WARNING)
    # The server checks credentials and policies in this block: the user may not read secrets.
    with enable_iam_authentication():
        assert repository.get_variable(store, settings, "region") == "stored-region"
        with pytest.raises(NotFoundError) as caught:
            repository.get_connection(store, settings, "warehouse")
    message = str(caught.value)
    assert f"secrets backend {SECRETS_MANAGER} could not read connection 'warehouse'" in message
    assert "AccessDenied" in message, message  # the service's reason
    warned = caplog.text
    assert f"{SECRETS_MANAGER} could not read variable 'region'" in warned
    assert "looking in the environment and the store instead" in warned
    assert keys["aws_secret_access_key"] not in message + warned


def test_an_unknown_access_key_is_named(tmp_path: Path, store: Store, aws_endpoint: str) -> None:
    settings = _settings(tmp_path, store, PARAMETER_STORE, _kwargs(aws_endpoint))
    with enable_iam_authentication(), pytest.raises(NotFoundError) as caught:
        repository.get_connection(store, settings, "warehouse")
    message = str(caught.value)
    assert f"{PARAMETER_STORE} could not read connection 'warehouse'" in message
    assert "UnrecognizedClientException" in message or "InvalidClientTokenId" in message, message


def test_an_unreachable_backend_is_named(tmp_path: Path, store: Store) -> None:
    kwargs = _kwargs("http://127.0.0.1:1", config_kwargs={"retries": {"max_attempts": 1}})
    settings = _settings(tmp_path, store, PARAMETER_STORE, kwargs)
    repository.set_connection(store, settings, Connection.from_uri("db", "postgresql://h/d"))
    assert repository.get_connection(store, settings, "db").host == "h"
    with pytest.raises(NotFoundError) as caught:
        repository.get_connection(store, settings, "elsewhere")
    message = str(caught.value)
    assert f"{PARAMETER_STORE} could not read connection 'elsewhere'" in message
    assert "EndpointConnectionError" in message and "127.0.0.1:1" in message


def test_the_cli_gets_from_the_backend(tmp_path: Path, store_url: str, aws_endpoint: str) -> None:
    top = _prefix()
    sm = _client(aws_endpoint, "secretsmanager")
    sm.create_secret(Name=f"{top}/connections/warehouse", SecretString="postgresql://u:cli-Pw@db/x")
    sm.create_secret(Name=f"{top}/variables/api_token", SecretString="cli-Token-5")
    kwargs = _kwargs(
        aws_endpoint, connections_prefix=f"{top}/connections", variables_prefix=f"{top}/variables"
    )
    env = {
        "AIRFLOW__SECRETS__BACKEND": SECRETS_MANAGER,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(kwargs),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        shown = store_cli(tmp_path, store_url, "connections", "get", "warehouse", "-o", "json")
        revealed = store_cli(tmp_path, store_url, "variables", "get", "api_token", "--reveal")
        masked = store_cli(tmp_path, store_url, "variables", "get", "api_token")
        listed = store_cli(tmp_path, store_url, "variables", "list")
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert info["host"] == "db" and info["password"] == "***"
    assert revealed.stdout.strip() == "cli-Token-5"
    assert masked.stdout.strip() == "***"
    assert "api_token" not in listed.stdout  # lists show the environment and the store


DAG = """
    from conveyor.connections import Variable, get_connection

    with DAG("from_backend", schedule=None, start_date=START):
        @task
        def read():
            warehouse = get_connection("warehouse")
            print(f"dsn={warehouse.get_uri()} host={warehouse.host}")
            print(f"token={Variable.get('api_token')} rows={Variable.get('rows')}")

        templated = BashOperator(
            task_id="templated",
            bash_command="echo pw={{ conn.warehouse.password }} rows={{ var.value.rows }}",
        )
        read() >> templated
"""


def test_a_try_reads_the_backend_and_its_log_masks_the_secrets(
    tmp_path: Path, store: Store, aws_endpoint: str
) -> None:
    top = _prefix()
    sm = _client(aws_endpoint, "secretsmanager")
    sm.create_secret(
        Name=f"{top}/connections/warehouse", SecretString="postgresql://etl:Try-Pw-8812@db.in/dw"
    )
    sm.create_secret(Name=f"{top}/variables/api_token", SecretString="Try-Token-7734")
    sm.create_secret(Name=f"{top}/variables/rows", SecretString="4242")
    dags = tmp_path / "dags"
    dags.mkdir()
    env = Env(tmp_path, dags, store)
    env.write_dag("from_backend.py", DAG)
    overrides = {
        "secrets_backend": SECRETS_MANAGER,
        "secrets_backend_kwargs": _kwargs(
            aws_endpoint,
            connections_prefix=f"{top}/connections",
            variables_prefix=f"{top}/variables",
        ),
    }
    env.sync()
    run_pk = env.trigger("from_backend")
    env.run(run_pk, **overrides)
    assert env.run_state(run_pk) is RunState.SUCCESS, env.states(run_pk)
    settings = env.settings(**overrides)
    run_id = env.dag_runs("from_backend")[0].run_id
    read = log_path_for(settings, "from_backend", run_id, "read", 1).read_text()
    assert "dsn=postgres://etl:***@db.in/dw host=db.in" in read, read  # get_uri(), as Airflow
    assert "token=*** rows=4242" in read, read
    templated = log_path_for(settings, "from_backend", run_id, "templated", 1).read_text()
    assert "pw=*** rows=4242" in templated, templated
    for secret in ("Try-Pw-8812", "Try-Token-7734"):
        assert secret not in read + templated
