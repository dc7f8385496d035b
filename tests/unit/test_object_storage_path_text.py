"""An ObjectStoragePath's text names its connection, and the text makes the same path again."""

from __future__ import annotations

import pytest

pytest.importorskip("fsspec")

from conveyor.providers.objectstorage.path import ObjectStoragePath


def test_the_text_of_a_path_with_a_connection_names_it() -> None:
    path = ObjectStoragePath("s3://bucket/run/", conn_id="aws_main") / "raw" / "x.csv"
    assert str(path) == "s3://aws_main@bucket/run/raw/x.csv"
    assert (path.bucket, path.key, path.namespace) == ("bucket", "run/raw/x.csv", "s3://bucket")


def test_the_text_makes_the_same_path_on_the_same_connection() -> None:
    path = ObjectStoragePath("s3://aws_main@bucket/run/x.csv")
    assert path.conn_id == "aws_main"
    assert (path.bucket, path.key) == ("bucket", "run/x.csv")
    assert ObjectStoragePath(str(path)) == path


def test_a_given_connection_wins_over_the_one_in_the_text() -> None:
    path = ObjectStoragePath("s3://aws_main@bucket/x", conn_id="other")
    assert path.conn_id == "other"
    assert str(path) == "s3://other@bucket/x"


def test_without_a_connection_the_text_is_the_url() -> None:
    assert str(ObjectStoragePath("s3://bucket/run/x.csv")) == "s3://bucket/run/x.csv"
    assert str(ObjectStoragePath("/tmp/data/x.csv")) == "file:///tmp/data/x.csv"
