"""Datasets as OpenLineage names them, for the operators that move objects and files: an S3
object is namespace ``s3://<bucket>``, name ``<key>``; a local file is namespace ``file``,
name its path. The OpenLineage client is imported when one is made (only a process that
sends events asks)."""

from __future__ import annotations

from typing import Any


def s3_object(bucket: str, key: str) -> Any:
    from openlineage.client.event_v2 import Dataset

    return Dataset(namespace=f"s3://{bucket}", name=key)


def local_file(path: str) -> Any:
    from openlineage.client.event_v2 import Dataset

    return Dataset(namespace="file", name=path)
