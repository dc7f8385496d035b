"""Connections as URIs, secret masking and Fernet keys: pure parts, no store."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from conveyor.config import Settings
from conveyor.connections import crypto, masking
from conveyor.connections.models import Connection
from conveyor.exceptions import ConfigError


def test_airflow_3s_argument_order_reads_the_same_connection() -> None:
    """``airflow.sdk.Connection.from_uri(uri, conn_id)``: Airflow 3's files give the URI
    first; a connection id never holds ``://``, so both orders read alike."""
    uri = "postgresql://etl:pw@db.local:5433/sales"
    assert Connection.from_uri(uri, "db") == Connection.from_uri("db", uri)
    assert Connection.from_uri(uri=uri, conn_id="db").port == 5433


def test_extra_is_json_text_as_airflow_keeps_it() -> None:
    """Airflow's ``conn.extra`` is the JSON text of an object: DAG code reads it with
    ``json.loads(conn.extra)``, and builds connections with ``extra=json.dumps({...})``."""
    given_dict = Connection("api", "http", extra={"timeout": 5, "verify": False})
    given_text = Connection("api", "http", extra='{"timeout": 5, "verify": false}')
    for conn in (given_dict, given_text):
        assert isinstance(conn.extra, str)
        assert json.loads(conn.extra) == {"timeout": 5, "verify": False}
        assert conn.extra_dejson == {"timeout": 5, "verify": False}
        assert conn.get_extra() == conn.extra
    assert given_dict.get_uri() == given_text.get_uri()
    # No extra is None, as in Airflow: ``json.loads(conn.extra) if conn.extra else {}``.
    assert Connection("api", "http").extra is None
    assert Connection("api", "http", extra={}).extra is None
    assert Connection.from_uri("db", "postgres://h/d").extra is None
    # extra_dejson is a new dict each time: changing it changes no connection.
    given_dict.extra_dejson["timeout"] = 99
    assert given_dict.extra_dejson["timeout"] == 5


def test_extra_that_is_not_a_json_object_reads_as_empty_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="conveyor.connections.models"):
        assert Connection("api", "http", extra="{not json").extra_dejson == {}
        assert Connection("api", "http", extra="[1, 2]").extra_dejson == {}
    assert [r.getMessage()[:33] for r in caplog.records] == [
        "connection 'api': its extra is no",
        "connection 'api': its extra is no",
    ]
    with pytest.raises(ConfigError, match="JSON object or its text"):
        Connection("api", "http", extra=[1, 2])  # type: ignore[arg-type]


def test_airflow_2s_uri_keyword_builds_the_connection() -> None:
    """``Connection(conn_id=..., uri=...)``, Airflow 2's constructor; the URI and the fields
    together are refused, as Airflow refuses them."""
    conn = Connection(conn_id="db", uri="postgresql://etl:pw@db.local:5433/sales?sslmode=require")
    assert conn == Connection.from_uri(
        "db", "postgresql://etl:pw@db.local:5433/sales?sslmode=require"
    )
    assert (conn.conn_type, conn.port, conn.extra_dejson) == (
        "postgres",
        5433,
        {"sslmode": "require"},
    )
    with pytest.raises(
        ConfigError, match=r"give either uri or the fields, not both \(uri and host\)"
    ):
        Connection(conn_id="db", host="elsewhere", uri="postgres://h/d")
    with pytest.raises(TypeError, match="conn_type is required"):
        Connection(conn_id="db")


def test_fields_after_the_type_are_refused_by_position() -> None:
    """Airflow's core model and its task SDK take the fields after ``description, host`` in
    different orders, and Conveyor's own order was a third: a third positional value is
    refused, naming the keywords, rather than stored in a field the file did not mean."""
    with pytest.raises(TypeError, match=r"give the fields after conn_type by name"):
        Connection("db", "postgres", "the warehouse", "db.local")
    named = Connection("db", "postgres", description="the warehouse", host="db.local")
    assert (named.description, named.host) == ("the warehouse", "db.local")


def test_uri_round_trips_with_quoted_password_port_schema_and_extra() -> None:
    conn = Connection.from_uri(
        "db", "postgres://etl:p%40ss%2Fw@db.local:6543/sales?sslmode=require"
    )
    assert (conn.conn_type, conn.host, conn.port, conn.login) == (
        "postgres",
        "db.local",
        6543,
        "etl",
    )
    assert (conn.password, conn.schema, conn.extra_dejson) == (
        "p@ss/w",
        "sales",
        {"sslmode": "require"},
    )
    assert Connection.from_uri("db", conn.get_uri()) == conn
    # As Airflow's: a postgresql:// URI is a "postgres" connection, written back so; the
    # SQLAlchemy URL names the dialect.
    made = Connection.from_uri("db", "postgresql://etl@db.local/sales")
    assert (made.conn_type, made.get_uri()) == ("postgres", "postgres://etl@db.local/sales")
    assert made.sqlalchemy_url() == "postgresql://etl@db.local/sales"
    assert "p@ss" not in repr(conn) and "etl:***@db.local" in repr(conn)


def test_json_extra_and_sqlite_paths() -> None:
    conn = Connection.from_uri("x", 'http://h?__extra__={"retries": 3, "token": "abcd1234"}')
    assert conn.extra_dejson == {"retries": 3, "token": "abcd1234"}
    assert conn.secret_values() == ["abcd1234"]
    assert conn.masked().extra_dejson == {"retries": 3, "token": "***"}
    lite = Connection.from_uri("lite", "sqlite:////tmp/data/x.db")
    assert lite.sqlalchemy_url() == "sqlite:////tmp/data/x.db"
    assert Connection.from_uri("lite", lite.get_uri()) == lite


@pytest.mark.parametrize("uri", ["no-scheme-here", "http://h:notaport/x"])
def test_bad_uris_are_refused_with_the_connection_named(uri: str) -> None:
    with pytest.raises(ConfigError, match="connection 'bad'"):
        Connection.from_uri("bad", uri)


@pytest.mark.parametrize(
    ("key", "secret"),
    [("db_password", True), ("API_KEY", True), ("github_token", True), ("region", False)],
)
def test_secret_looking_keys(key: str, secret: bool) -> None:
    assert masking.looks_secret(key) is secret


def test_masked_output_hides_registered_secrets_in_prints_and_log_records() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logger = logging.getLogger("toolkit-test")
    logger.addHandler(handler)
    saved = sys.stdout
    sys.stdout = out
    try:
        with masking.masked_output():
            masking.register("hunter22")
            masking.register("ab")  # too short to mask: it would blank ordinary text
            print("password is hunter22, ab stays")
            logger.warning("token %s", "hunter22")
        print("after the try: hunter22")
    finally:
        sys.stdout = saved
        logger.removeHandler(handler)
    text = out.getvalue()
    assert "password is ***, ab stays" in text
    assert "token ***" in text
    assert "after the try: hunter22" in text  # the registry is per try


def test_key_file_is_created_once_and_a_bad_key_is_reported(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path).resolved()
    token = crypto.encrypt(settings, "s3cret")
    key = (tmp_path / crypto.KEY_FILE_NAME).read_text().strip()
    assert (
        crypto.encrypt(settings, "x")
        and (tmp_path / crypto.KEY_FILE_NAME).read_text().strip() == key
    )
    assert Fernet(key.encode()).decrypt(token.encode()) == b"s3cret"
    with pytest.raises(ConfigError, match=r"setting 'fernet_key'.*not a Fernet key"):
        crypto.cipher(settings.model_copy(update={"fernet_key": "short"}))
