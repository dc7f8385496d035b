"""Airflow's ``GCSToS3Operator``: copy Cloud Storage objects to S3 (both the amazon and
the google extras: ``GCSHook`` reads, ``S3Hook`` writes)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import Any, ClassVar

from conveyor.model.task import BaseOperator
from conveyor.providers._fields import keep_fields
from conveyor.providers.amazon.s3 import S3Hook


class GCSToS3Operator(BaseOperator):
    """Copy the objects of ``gcs_bucket`` under ``prefix`` (or matching ``match_glob``) to
    ``dest_s3_key`` (``s3://bucket/prefix/``); unless ``replace``, only those S3 lacks.
    ``flatten_structure`` keeps only each object's base name. Returns the object names
    copied."""

    template_fields: ClassVar[tuple[str, ...]] = (
        "gcs_bucket",
        "prefix",
        "dest_s3_key",
        "google_impersonation_chain",
        "gcp_user_project",
        "match_glob",
        "gcp_conn_id",
        "dest_aws_conn_id",
    )
    ui_color = "#f0eee4"

    gcs_bucket: str
    prefix: str | None
    gcp_conn_id: str
    dest_aws_conn_id: str | None
    dest_s3_key: str
    dest_verify: str | bool | None
    replace: bool
    google_impersonation_chain: str | Sequence[str] | None
    dest_s3_extra_args: dict[str, Any] | None
    s3_acl_policy: str | None
    keep_directory_structure: bool
    flatten_structure: bool
    match_glob: str | None
    gcp_user_project: str | None

    def __init__(
        self,
        task_id: str,
        *,
        gcs_bucket: str,
        dest_s3_key: str,
        prefix: str | None = None,
        gcp_conn_id: str = "google_cloud_default",
        dest_aws_conn_id: str | None = "aws_default",
        dest_verify: str | bool | None = None,
        replace: bool = False,
        google_impersonation_chain: str | Sequence[str] | None = None,
        dest_s3_extra_args: dict[str, Any] | None = None,
        s3_acl_policy: str | None = None,
        keep_directory_structure: bool = True,
        flatten_structure: bool = False,
        match_glob: str | None = None,
        gcp_user_project: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        keep_fields(self, GCSToS3Operator, locals())

    def _dest_name(self, name: str) -> str:
        return os.path.basename(name) if self.flatten_structure else name

    def execute(self, context: dict[str, Any]) -> list[str]:
        from conveyor.providers.google.base_google import refuse_impersonation
        from conveyor.providers.google.gcs import GCSHook

        refuse_impersonation(self.google_impersonation_chain, f"task {self.task_id!r}")
        gcs = GCSHook(gcp_conn_id=self.gcp_conn_id)
        print(
            f"Getting list of the files. Bucket: {self.gcs_bucket}; Prefix: {self.prefix}",
            flush=True,
        )
        names = gcs.list(
            bucket_name=self.gcs_bucket,
            prefix=self.prefix,
            match_glob=self.match_glob,
            user_project=self.gcp_user_project,
        )
        # A folder marker ("dir/") is no file to copy.
        names = [n for n in names if not n.endswith("/") and self._dest_name(n)]
        s3 = S3Hook(
            aws_conn_id=self.dest_aws_conn_id,
            verify=self.dest_verify,
            extra_args=self.dest_s3_extra_args,
        )
        dest = self.dest_s3_key
        if not self.keep_directory_structure and self.prefix and not self.flatten_structure:
            dest = os.path.join(dest, self.prefix)
        if not self.replace:
            bucket, prefix = S3Hook.parse_s3_url(dest)
            prefix = prefix.rstrip("/") + "/" if prefix else prefix
            existing = {k.replace(prefix, "", 1) for k in s3.list_keys(bucket, prefix=prefix) or []}
            wanted: list[str] = []
            for name in names:
                target = self._dest_name(name)
                if target not in existing:
                    wanted.append(name)
                    existing.add(target)
            names = wanted
        for name in names:
            with tempfile.NamedTemporaryFile() as local:
                gcs.download(
                    self.gcs_bucket, name, filename=local.name, user_project=self.gcp_user_project
                )
                key = os.path.join(dest, self._dest_name(name))
                print(f"Saving file from {name} to {key}", flush=True)
                s3.load_file(
                    filename=local.name,
                    key=key,
                    replace=self.replace,
                    acl_policy=self.s3_acl_policy,
                )
        if not names:
            print("In sync, no files needed to be uploaded to S3", flush=True)
        return names
