"""HashiCorp Vault's KV engine as a secrets backend, against a real OpenBao server (Vault's
API): Airflow's secret layouts (``conn_uri`` or the fields; a variable's ``value``), KV
versions 2 and 1, token, user-and-password and AppRole sign-in, a path list, a wrong token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest
import vault_servers
from vault_servers import VaultServer

from conftest import make_settings
from conveyor.config import Settings
from conveyor.connections import backends, repository
from conveyor.exceptions import NotFoundError
from conveyor.store.engine import Store

# The server's fixture, used by name below.
vault_server = vault_servers.vault_server

VAULT = "airflow.providers.hashicorp.secrets.vault.VaultBackend"


@pytest.fixture(autouse=True)
def _fresh_backends() -> Iterator[None]:
    backends.forget_loaded()
    yield
    backends.forget_loaded()


@pytest.fixture(scope="module")
def root(vault_server: VaultServer) -> Any:
    """The server's root client, which writes the secrets the tests read; a KV version 1
    mount ``kv1``, and the userpass and AppRole sign-ins for readers of ``secret/``."""
    client = hvac.Client(url=vault_server.url, token=vault_server.root_token)
    client.sys.enable_secrets_engine("kv", path="kv1", options={"version": "1"})
    client.sys.enable_auth_method("userpass")
    client.sys.create_or_update_policy("reader", 'path "secret/data/*" { capabilities = ["read"] }')
    client.auth.userpass.create_or_update_user(
        username="reader", password="reader-Pw-5", policies=["reader"]
    )
    client.sys.enable_auth_method("approle")
    client.auth.approle.create_or_update_approle("etl", token_policies=["reader"])
    return client


def _settings(tmp_path: Path, store: Store, kwargs: dict[str, Any]) -> Settings:
    return make_settings(
        tmp_path,
        tmp_path / "dags",
        store.url,
        secrets_backend=VAULT,
        secrets_backend_kwargs=kwargs,
    )


def test_kv2_connections_and_variables_with_a_token(
    tmp_path: Path, store: Store, vault_server: VaultServer, root: Any
) -> None:
    kv = root.secrets.kv.v2
    kv.create_or_update_secret(
        path="airflow/connections/warehouse",
        secret={"conn_uri": "postgresql://etl:vault-Pw-1@db.internal:5432/dw"},
    )
    kv.create_or_update_secret(
        path="airflow/connections/api",
        secret={
            "conn_type": "http",
            "host": "api.internal",
            "password": "api-Pw-2",
            "extra": json.dumps({"timeout": 3}),
        },
    )
    kv.create_or_update_secret(path="airflow/variables/region", secret={"value": "eu-north-1"})
    kv.create_or_update_secret(path="airflow/variables/no_value", secret={"other": "x"})
    settings = _settings(
        tmp_path,
        store,
        {
            "url": vault_server.url,
            "token": vault_server.root_token,
            "connections_path": "airflow/connections",
            "variables_path": "airflow/variables",
        },
    )
    repository.set_variable(store, settings, "no_value", "stored")
    warehouse = repository.get_connection(store, settings, "warehouse")
    assert (warehouse.host, warehouse.port, warehouse.password) == (
        "db.internal",
        5432,
        "vault-Pw-1",
    )
    api = repository.get_connection(store, settings, "api")
    assert (api.conn_type, api.password, api.extra_dejson) == ("http", "api-Pw-2", {"timeout": 3})
    assert repository.get_variable(store, settings, "region") == "eu-north-1"
    # A secret without a value key is no variable (as in Airflow): the store answers.
    assert repository.get_variable(store, settings, "no_value") == "stored"
    with pytest.raises(NotFoundError):
        repository.get_connection(store, settings, "absent")


def test_kv1_a_path_list_and_the_user_and_approle_sign_ins(
    tmp_path: Path, store: Store, vault_server: VaultServer, root: Any
) -> None:
    root.secrets.kv.v1.create_or_update_secret(
        path="team/connections/queue", secret={"conn_uri": "redis://:q-Pw@cache:6379/0"},
        mount_point="kv1",
    )  # fmt: skip
    root.secrets.kv.v1.create_or_update_secret(
        path="shared/connections/queue", secret={"conn_uri": "redis://:shared@other:6379/0"},
        mount_point="kv1",
    )  # fmt: skip
    root.secrets.kv.v1.create_or_update_secret(
        path="shared/connections/mail", secret={"conn_uri": "smtp://mail:25"}, mount_point="kv1"
    )
    token_settings = _settings(
        tmp_path,
        store,
        {
            "url": vault_server.url,
            "token": vault_server.root_token,
            "mount_point": "kv1",
            "kv_engine_version": 1,
            "connections_path": ["team/connections", "shared/connections"],
        },
    )
    assert repository.get_connection(store, token_settings, "queue").password == "q-Pw"
    assert repository.get_connection(store, token_settings, "mail").host == "mail"

    root.secrets.kv.v2.create_or_update_secret(
        path="connections/reader_db", secret={"conn_uri": "mysql://r:reader-Db@h/x"}
    )
    reader = _settings(
        tmp_path,
        store,
        {
            "url": vault_server.url,
            "auth_type": "userpass",
            "username": "reader",
            "password": "reader-Pw-5",
        },
    )
    assert repository.get_connection(store, reader, "reader_db").password == "reader-Db"
    role = {
        "role_id": root.auth.approle.read_role_id("etl")["data"]["role_id"],
        "secret_id": root.auth.approle.generate_secret_id("etl")["data"]["secret_id"],
    }
    by_role = _settings(tmp_path, store, {"url": vault_server.url, "auth_type": "approle", **role})
    assert repository.get_connection(store, by_role, "reader_db").login == "r"
    # The role's token is revoked (or expired): the backend signs in again.
    made = backends.configured(by_role)
    assert made is not None
    root.auth.token.revoke(made.backend.client.token)
    assert repository.get_connection(store, by_role, "reader_db").login == "r"


def test_a_wrong_token_is_named_and_the_store_answers(
    tmp_path: Path, store: Store, vault_server: VaultServer, root: Any
) -> None:
    settings = _settings(tmp_path, store, {"url": vault_server.url, "token": "not-a-token"})
    repository.set_variable(store, settings, "region", "stored-region")
    assert repository.get_variable(store, settings, "region") == "stored-region"
    with pytest.raises(NotFoundError) as caught:
        repository.get_connection(store, settings, "warehouse")
    message = str(caught.value)
    assert f"secrets backend {VAULT} could not read connection 'warehouse'" in message
    assert "Forbidden" in message and "not-a-token" not in message
