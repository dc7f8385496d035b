"""Masking by name covers the usual spellings of secret keys, and anything else can be marked
secret: a variable (``--secret``, the API's ``secret``) or a connection field
(``--secret-field``, ``secret_fields``). A try that prints them writes ``***``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_processes import store_cli as cli
from conveyor.connections import repository
from conveyor.connections.masking import looks_secret
from conveyor.connections.models import Connection
from conveyor.states import RunState
from conveyor.store.engine import Store
from conveyor.worker.runner import log_path_for
from run_env import Env

#: Extra keys an op got back in clear before the rule was widened.
SECRET_KEYS = [
    "passphrase",
    "pwd",
    "private-key",
    "private_key",
    "Private.Key",
    "signing_key",
    "ssh_key",
    "dsn",
    "token",
    "secret",
    "credential",
    "api_key",
    "apikey",
    "API-KEY",
    "auth",
    "client_secret",
    # Spellings the rule missed before it was widened.
    "pass",
    "db_pass",
    "pw",
    "db_pw",
    "passcode",
    "keyfile_dict",
    "key_file",
    "service_account",
    "connection_string",
    "conn_str",
    "account_key",
    "hmac_key",
    "jwt",
    "cookie",
    "webhook_url",
    "bearer",
    "sas_key",
    "key",
]


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_secret_looking_keys_are_masked_whatever_their_spelling(key: str) -> None:
    assert looks_secret(key)
    conn = Connection("c", "http", extra={key: "value-123456", "region": "eu"})
    assert conn.masked().extra_dejson == {key: "***", "region": "eu"}
    assert "value-123456" in conn.secret_values()
    assert "value-123456" not in conn.get_uri(reveal=False)


@pytest.mark.parametrize(
    "key",
    ["host", "region", "sslmode", "keyspace", "timeout", "schema", "passenger", "port", "bucket"],
)
def test_ordinary_keys_stay_readable(key: str) -> None:
    assert not looks_secret(key)


def test_marked_fields_survive_the_uri_and_the_store(tmp_path: Path, store: Store) -> None:
    from conftest import make_settings

    settings = make_settings(tmp_path, tmp_path, store.url)
    conn = Connection.from_uri("svc", "http://robot-7788@api.example/v1?tenant=acme-42917&x=1")
    conn = Connection(**{**conn.__dict__, "secret_fields": ("login", "tenant")})
    assert "acme-42917" not in conn.get_uri(reveal=False)
    assert "robot-7788" not in conn.get_uri(reveal=False)
    assert Connection.from_uri("svc", conn.get_uri()).secret_fields == ("login", "tenant")
    repository.set_connection(store, settings, conn)
    read = repository.get_connection(store, settings, "svc")
    assert read.secret_fields == ("login", "tenant")
    assert sorted(read.secret_values()) == ["acme-42917", "robot-7788"]
    assert read.masked().extra_dejson == {"tenant": "***", "x": "1"}


MARKED = """
    from conveyor.connections import Variable, get_connection

    with DAG("marked", start_date=START):
        @task
        def show():
            svc = get_connection("svc")
            print(f"tenant={svc.extra_dejson['tenant']} seed={Variable.get('seed')}")
            print(f"ssh={svc.extra_dejson['ssh-key']} login={svc.login}")
        show()
"""


def test_marked_secrets_are_masked_in_a_tries_log(tmp_path: Path, store: Store) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    env = Env(tmp_path, dags, store)
    settings = env.settings()
    uri = "http://robot-7788@api.example/v1?tenant=acme-42917&ssh-key=AAAAB3Nza-k3y"
    conn = Connection.from_uri("svc", uri + "&__secret__=login,tenant")
    repository.set_connection(store, settings, conn)
    repository.set_variable(store, settings, "seed", "s33d-value-91", secret=True)
    env.write_dag("marked.py", MARKED)
    env.sync()
    run_pk = env.trigger("marked")
    env.run(run_pk)
    assert env.run_state(run_pk) is RunState.SUCCESS, env.states(run_pk)
    run = env.dag_runs("marked")[0]
    log = log_path_for(settings, "marked", run.run_id, "show", 1).read_text()
    assert "tenant=*** seed=***" in log and "ssh=*** login=***" in log, log
    for secret in ("acme-42917", "s33d-value-91", "AAAAB3Nza-k3y", "robot-7788"):
        assert secret not in log


def test_the_cli_marks_variables_and_connection_fields_secret(
    tmp_path: Path, store_url: str
) -> None:
    assert (
        cli(tmp_path, store_url, "variables", "set", "seed", "s33d-91", "--secret").returncode == 0
    )
    assert cli(tmp_path, store_url, "variables", "set", "rows", "42").returncode == 0
    assert cli(tmp_path, store_url, "variables", "get", "seed").stdout.strip() == "***"
    assert cli(tmp_path, store_url, "variables", "get", "seed", "--reveal").stdout.strip() == (
        "s33d-91"
    )
    listed = cli(tmp_path, store_url, "variables", "list").stdout
    assert "s33d-91" not in listed and "42" in listed

    extra = json.dumps({"tenant": "acme-42917", "region": "eu"})
    added = cli(
        tmp_path, store_url, "connections", "add", "svc", "--conn-type", "http",
        "--host", "api.example", "--login", "robot-7788", "--extra", extra,
        "--secret-field", "tenant", "--secret-field", "login",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    shown = cli(tmp_path, store_url, "connections", "get", "svc").stdout
    assert "acme-42917" not in shown and "robot-7788" not in shown and "eu" in shown
    revealed = cli(tmp_path, store_url, "connections", "get", "svc", "--reveal").stdout
    assert "acme-42917" in revealed and "robot-7788" in revealed


def test_a_new_value_for_a_secret_variable_stays_secret(tmp_path: Path, store_url: str) -> None:
    """The attack: an admin (or a task's Variable.set) updates a marked variable without
    repeating the mark, and every op and viewer reads the new value in clear."""
    assert (
        cli(tmp_path, store_url, "variables", "set", "seed", "s33d-91", "--secret").returncode == 0
    )
    assert cli(tmp_path, store_url, "variables", "set", "seed", "s33d-92").returncode == 0
    assert cli(tmp_path, store_url, "variables", "get", "seed").stdout.strip() == "***"
    store = Store(store_url)
    try:
        from conftest import make_settings

        settings = make_settings(tmp_path, tmp_path, store_url)
        entry = repository.get_variable_entry(store, settings, "seed")
        assert entry is not None and entry.secret and entry.value == "s33d-92"
        # Unmarking is said out loud.
        assert repository.set_variable(store, settings, "seed", "s33d-93", secret=False) is False
        assert cli(tmp_path, store_url, "variables", "get", "seed").stdout.strip() == "s33d-93"
    finally:
        store.dispose()


def test_secret_fields_mask_host_and_schema_and_refuse_what_they_cannot_mask(
    tmp_path: Path, store: Store
) -> None:
    """A webhook's secret is its path: marking ``schema`` masks it, in listings and in a
    try's log; a name that would mask nothing is refused rather than silently ignored."""
    from conftest import make_settings
    from conveyor.connections import masking
    from conveyor.exceptions import ConfigError

    settings = make_settings(tmp_path, tmp_path, store.url)
    hook = Connection.from_uri(
        "hook", "https://hooks.example.com/services/T0/B0/Xk29sQ?__secret__=schema"
    )
    assert hook.masked().schema == "***"
    assert "T0/B0/Xk29sQ" not in hook.get_uri(reveal=False)
    assert "services/T0/B0/Xk29sQ" in hook.secret_values()
    with masking.masked_output():
        masking.register(hook.secret_values())
        assert masking.redact(hook.get_uri()) == "https://hooks.example.com/***?__secret__=schema"
    private = Connection("p", "http", host="10.1.2.3-internal", secret_fields=("host",))
    assert "10.1.2.3-internal" not in private.get_uri(reveal=False)

    port = Connection("c", "http", port=80, secret_fields=("port",))
    with pytest.raises(ConfigError, match="cannot mask port"):
        repository.set_connection(store, settings, port)
    typo = Connection("c", "http", extra={"tenant": "acme-42917"}, secret_fields=("tenat",))
    with pytest.raises(ConfigError, match="tenat, which is neither"):
        repository.set_connection(store, settings, typo)


def test_a_uri_refused_for_nfkc_never_quotes_its_password() -> None:
    from conveyor.exceptions import ConfigError

    with pytest.raises(ConfigError) as refused:
        Connection.from_uri("c", "postgresql://etl:s3cr\uff03et-pw@db.internal/x")
    assert "s3cr" not in str(refused.value) and "NFKC" in str(refused.value)


def test_the_shipped_webhook_connection_hides_its_path_and_still_posts_to_it(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """toolkit_alerts' webhook connection marks its path secret: the notifier posts to the
    URL without Conveyor's mark, and a try that prints it writes ``***``."""
    from conftest import make_settings
    from conveyor.connections import bind, masking
    from conveyor.notifiers import WebhookNotifier

    url = "https://hooks.example.com/services/T0/B0/Xk29sQ"
    monkeypatch.setenv("CONVEYOR_CONN_ALERTS_WEBHOOK", url + "?__secret__=schema")
    settings = make_settings(tmp_path, tmp_path, store.url)
    with bind(store, settings), masking.masked_output():
        target = WebhookNotifier(conn_id="alerts_webhook").target()
        assert target == url
        assert masking.redact(f"posting to {target}") == "posting to https://hooks.example.com/***"
    shown = repository.list_connections(store, settings)[0].get_uri(reveal=False)
    assert "Xk29sQ" not in shown
