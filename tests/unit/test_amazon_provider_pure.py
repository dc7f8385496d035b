"""The amazon provider's pure parts: S3 URLs, what an ``aws`` connection says, the error
that names a connection without its secret, and the missing-extra line."""

from __future__ import annotations

import sys

import pytest

from airflow_hook_on import assert_import_names_the_extra
from conveyor.connections import Connection
from conveyor.providers.amazon import base_aws
from conveyor.providers.amazon.s3 import S3Hook, S3HookUriParseFailure


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("s3://bucket/a/b.csv", ("bucket", "a/b.csv")),
        ("S3A://bucket/a", ("bucket", "a")),
        ("s3n://bucket/", ("bucket", "")),
        ("https://bucket.s3.eu-west-1.amazonaws.com/a/b", ("bucket", "a/b")),
        ("https://s3.eu-west-1.amazonaws.com/bucket/a/b", ("bucket", "a/b")),
    ],
)
def test_s3_urls_parse_as_airflow_parses_them(url: str, parsed: tuple[str, str]) -> None:
    assert S3Hook.parse_s3_url(url) == parsed


@pytest.mark.parametrize("url", ["s3:///no-bucket", "gs://bucket/a", "a/b.csv"])
def test_what_is_not_an_s3_url_is_refused(url: str) -> None:
    with pytest.raises(S3HookUriParseFailure, match="valid format"):
        S3Hook.parse_s3_url(url)


def test_a_relative_key_needs_its_bucket_and_a_url_needs_none() -> None:
    assert S3Hook.get_s3_bucket_key(None, "s3://b/k", "bucket", "key") == ("b", "k")
    assert S3Hook.get_s3_bucket_key("b", "k", "bucket", "key") == ("b", "k")
    with pytest.raises(TypeError, match="should be a relative path"):
        S3Hook.get_s3_bucket_key("b", "s3://b/k", "bucket", "key")


def test_an_aws_connection_reads_as_airflow_reads_it() -> None:
    uri = Connection.from_uri(
        "lake",
        "aws://KEYID:se%2Fcret@/?region_name=eu-west-1&endpoint_url=http%3A%2F%2Fminio%3A9000"
        "&aws_session_token=tok",
    )
    read = base_aws.settings_of(uri, "lake")
    assert (read.access_key_id, read.secret_access_key, read.session_token) == (
        "KEYID",
        "se/cret",
        "tok",
    )
    assert (read.region_name, read.endpoint_for("s3")) == ("eu-west-1", "http://minio:9000")
    in_extra = Connection(
        conn_id="lake",
        conn_type="aws",
        extra={
            "aws_access_key_id": "K",
            "aws_secret_access_key": "S",
            "service_config": {"s3": {"endpoint_url": "http://s3:1", "bucket_name": "b"}},
        },
    )
    read = base_aws.settings_of(in_extra, "lake")
    assert (read.access_key_id, read.secret_access_key) == ("K", "S")
    assert read.endpoint_for("s3") == "http://s3:1" and read.endpoint_for("sts") is None
    assert base_aws.settings_of(None, None) == base_aws.AwsSettings(conn_id=None)


def test_a_first_argument_spelled_as_a_region_is_one() -> None:
    split = base_aws._service_and_region
    assert split("s3", None) == ("s3", None)
    assert split("ec2", "eu-west-1") == ("ec2", "eu-west-1")
    assert split("us-gov-west-1", None) == (None, "us-gov-west-1")
    assert split("aws-global", None) == (None, "aws-global")


def test_a_refused_connection_is_named_without_its_secret() -> None:
    aws = base_aws.AwsBaseHook(aws_conn_id="lake", client_type="s3")
    aws._settings = base_aws.AwsSettings(
        conn_id="lake", access_key_id="KEYID", secret_access_key="s3cr3t", endpoint_url="http://x"
    )
    error = aws.failure(RuntimeError("signature for s3cr3t does not match"))
    message = str(error)
    assert "connection 'lake' (http://x, access key id KEYID credentials)" in message
    assert "s3cr3t" not in message and "***" in message


def test_a_missing_boto3_fails_the_import_naming_the_extra(
    airflow_hook: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if boto3 were not installed: the modules are imported again without it.
    monkeypatch.setitem(sys.modules, "boto3", None)
    for name in [m for m in sys.modules if m.startswith("conveyor.providers.amazon.")]:
        monkeypatch.delitem(sys.modules, name)
    assert_import_names_the_extra(
        "airflow.providers.amazon.aws.hooks.s3",
        "S3Hook",
        "amazon",
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n",
    )


def test_an_aws_connection_masks_its_secret_key_and_session_token() -> None:
    as_login = Connection.from_uri("a", "aws://KEYID:the-secret@/?aws_session_token=the-token")
    in_extra = Connection(
        conn_id="b",
        conn_type="aws",
        extra={"aws_access_key_id": "KEYID", "aws_secret_access_key": "the-secret"},
    )
    assert sorted(as_login.secret_values()) == ["the-secret", "the-token"]
    assert "the-secret" in in_extra.secret_values()
