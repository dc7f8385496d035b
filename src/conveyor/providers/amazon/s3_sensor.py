"""Airflow's ``S3KeySensor``: wait until one key, or every key of a list, is in a bucket.

A key is a full ``s3://bucket/key`` URL or relative to ``bucket_name``; with
``wildcard_match`` it is a shell pattern (``data/*.csv``) that any key may match, with
``use_regex`` a regular expression. ``check_fn(files)`` (or ``check_fn(files, **context)``)
sees each match as ``{"Size": ..., "Key": ...}`` (``metadata_keys`` chooses the fields) and
decides. Works in poke and reschedule modes like every Conveyor sensor.
"""

from __future__ import annotations

import fnmatch
import inspect
import re
from collections.abc import Callable
from typing import Any, ClassVar

from conveyor.providers._fields import keep_fields
from conveyor.providers.amazon.s3 import S3Hook, S3HookSettings
from conveyor.sensors.base import BaseSensor


class S3KeySensor(S3HookSettings, BaseSensor):
    """Wait for ``bucket_key`` (a key or a list of keys) in ``bucket_name``."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "bucket_key",
        "bucket_name",
        "aws_conn_id",
        "region_name",
        "verify",
    )
    ui_color = "#ffd700"

    bucket_key: str | list[str]
    bucket_name: str | None
    wildcard_match: bool
    check_fn: Callable[..., bool] | None
    use_regex: bool

    def __init__(
        self,
        task_id: str,
        *,
        bucket_key: str | list[str],
        bucket_name: str | None = None,
        wildcard_match: bool = False,
        check_fn: Callable[..., bool] | None = None,
        aws_conn_id: str | None = "aws_default",
        verify: str | bool | None = None,
        region_name: str | None = None,
        botocore_config: dict[str, Any] | None = None,
        use_regex: bool = False,
        metadata_keys: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, S3HookSettings, locals())
        keep_fields(self, S3KeySensor, locals())
        self.metadata_keys = metadata_keys or ["Size", "Key"]

    def poke(self, context: dict[str, Any]) -> bool:
        keys = [self.bucket_key] if isinstance(self.bucket_key, str) else list(self.bucket_key)
        hook = self.hook
        return all(self._check_key(hook, key, context) for key in keys)

    def _check_key(self, hook: S3Hook, key: str, context: dict[str, Any]) -> bool:
        bucket, key = hook.get_s3_bucket_key(self.bucket_name, key, "bucket_name", "bucket_key")
        print(f"Poking for key : s3://{bucket}/{key}", flush=True)
        if self.use_regex:
            return any(re.match(key, o["Key"]) for o in hook.iter_file_metadata("", bucket))
        if self.wildcard_match:
            prefix = re.split(r"[\[*?]", key, maxsplit=1)[0]
            found = [
                o for o in hook.iter_file_metadata(prefix, bucket) if fnmatch.fnmatch(o["Key"], key)
            ]
            files = [self._metadata(hook, bucket, o["Key"], o) for o in found]
        else:
            head = hook.head_object(key, bucket)
            found = [] if head is None else [head]
            files = [
                self._metadata(
                    hook, bucket, key, {**head, "Key": key, "Size": head["ContentLength"]}
                )
                for head in found
            ]
        if not files:
            return False
        return self._checked(files, context)

    def _metadata(
        self, hook: S3Hook, bucket: str, key: str, listed: dict[str, Any]
    ) -> dict[str, Any]:
        if "*" in self.metadata_keys:
            return dict(hook.head_object(key, bucket) or {})
        missing = [k for k in self.metadata_keys if k not in listed]
        head = (hook.head_object(key, bucket) or {}) if missing else {}
        return {k: listed.get(k, head.get(k)) for k in self.metadata_keys}

    def _checked(self, files: list[dict[str, Any]], context: dict[str, Any]) -> bool:
        if self.check_fn is None:
            return True
        parameters = inspect.signature(self.check_fn).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            return bool(self.check_fn(files, **context))
        return bool(self.check_fn(files))
